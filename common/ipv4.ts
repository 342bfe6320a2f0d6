/** IPv4 arithmetic shared by modules, facts and the cluster check. */

export function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

/** `24` -> `255.255.255.0`. */
export function prefixToNetmask(p: number): string {
  const bits = '1'.repeat(p).padEnd(32, '0');
  return [0, 8, 16, 24].map((i) => parseInt(bits.slice(i, i + 8), 2)).join('.');
}

/** `255.255.255.0` -> `24` (the ones before the first zero). */
export function netmaskToPrefix(mask: string): number {
  return ipToInt(mask).toString(2).padStart(32, '0').replace(/0+$/, '').length;
}

/** True when `ip` lies in `net/prefix`; host bits of `net` do not matter. */
export function inSubnet(net: string, prefix: number, ip: string): boolean {
  const size = 2 ** (32 - prefix);
  return Math.floor(ipToInt(ip) / size) === Math.floor(ipToInt(net) / size);
}
