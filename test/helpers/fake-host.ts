import type { Exec, ExecResult } from '../../common/exec.js';
import { inSubnet, ipToInt } from '../../common/ipv4.js';
import { KernelState } from '../../agent/kstate/kernel-state.js';
import { FakeIpvs } from './fake-ipvs.js';

/**
 * An in-memory host behind a fake exec and /proc: links with addresses (and the prefix routes
 * the kernel adds with them), routes, ipip tunnels, loaded modules (`modprobe ipip` creates
 * tunl0), IPVS (FakeIpvs) and iptables. Reads print what iproute2, ipvsadm and iptables-save
 * print; the commands the modules apply change the state. Unit tests of planning only.
 */
export interface FakeLink {
  flags: string[];
  link_type: string;
  kind?: string;
  local?: string;
  remote?: string;
  addrs: { local: string; prefixlen: number; label: string }[];
}
export interface FakeRoute {
  table: string;
  dst: string;
  gateway?: string;
  dev?: string;
  metric: number;
  src?: string;
  scope: string;
}
interface FakeNetfilter {
  chains: { name: string; policy: string | null }[];
  rules: string[];
}

const ok = (stdout = ''): ExecResult => ({ code: 0, stdout, stderr: '', ms: 0 });
const fail = (stderr: string): ExecResult => ({ code: 2, stdout: '', stderr, ms: 0 });
const after = (ws: readonly string[], key: string) => (ws.includes(key) ? ws[ws.indexOf(key) + 1] : undefined);

function network(ip: string, prefixlen: number): string {
  const n = ipToInt(ip) - (ipToInt(ip) % 2 ** (32 - prefixlen));
  return `${[24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.')}/${prefixlen}`;
}

export class FakeHost {
  links = new Map<string, FakeLink>([
    ['lo', { flags: ['LOOPBACK', 'UP', 'LOWER_UP'], link_type: 'loopback', addrs: [{ local: '127.0.0.1', prefixlen: 8, label: 'lo' }] }],
    ['eth0', { flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], link_type: 'ether', kind: 'veth', addrs: [{ local: '172.25.7.3', prefixlen: 24, label: 'eth0' }] }],
  ]);
  routes: FakeRoute[] = [
    { table: 'main', dst: '172.25.7.0/24', dev: 'eth0', metric: 0, src: '172.25.7.3', scope: 'link' },
    { table: 'main', dst: 'default', gateway: '172.25.7.1', dev: 'eth0', metric: 0, scope: 'global' },
  ];
  modules = new Set<string>(['ip_vs']);
  ipvs = new FakeIpvs('');
  iptables = new Map<string, FakeNetfilter>();
  /** Every command run, as `file args...`, and every /proc file read. */
  calls: string[] = [];

  kernel(): KernelState {
    return new KernelState({ exec: this.exec, readFile: async (p) => (this.calls.push(`read ${p}`), this.procFile(p)) });
  }

  exec: Exec = async (file, args, opts) => {
    this.calls.push([file, ...args].join(' '));
    if (file === 'ipvsadm') return this.ipvs.exec(file, args, opts);
    if (file === 'ip') return this.ip(args);
    if (file === 'modprobe') return this.modprobe(args);
    if (file === 'iptables-save') return ok(this.iptablesSave());
    if (file === 'iptables') return this.iptablesCmd(args);
    return { code: 127, stdout: '', stderr: `${file}: command not found`, ms: 0 };
  };

  private procFile(p: string): string | null {
    if (p !== '/proc/modules') return null;
    return [...this.modules].map((m) => `${m} 16384 0 - Live 0x0000000000000000\n`).join('');
  }

  private ipAddrJson(): string {
    return JSON.stringify(
      [...this.links].map(([ifname, l], i) => ({
        ifindex: i + 1,
        ifname,
        flags: l.flags,
        link_type: l.link_type,
        ...(l.kind ? { linkinfo: { info_kind: l.kind, ...(l.kind === 'ipip' ? { info_data: { local: l.local ?? 'any', remote: l.remote ?? 'any' } } : {}) } } : {}),
        addr_info: l.addrs.map((a) => ({ family: 'inet', ...a })),
      })),
    );
  }

  private ip(args: readonly string[]): ExecResult {
    const line = args.join(' ');
    if (line === '-d -j addr show') return ok(this.ipAddrJson());
    if (line === '-4 -j route show table all type unicast') {
      return ok(JSON.stringify(this.routes.map((r) => ({ ...r, table: r.table, prefsrc: r.src, src: undefined }))));
    }
    const [obj, verb, ...rest] = args;
    if (obj === 'addr') return this.addr(verb, rest);
    if (obj === 'link') return this.link(verb, rest);
    if (obj === 'route') return this.route(verb, rest);
    return fail(`unexpected ip ${line}`);
  }

  private addr(verb: string, ws: string[]): ExecResult {
    const [ip, len] = ws[0].split('/');
    const dev = after(ws, 'dev')!;
    const link = this.links.get(dev);
    if (!link) return fail(`Cannot find device "${dev}"`);
    const prefixlen = Number(len);
    if (verb === 'add') {
      if (link.addrs.some((a) => a.local === ip)) return fail('RTNETLINK answers: File exists');
      link.addrs.push({ local: ip, prefixlen, label: after(ws, 'label') ?? dev });
      if (prefixlen < 32) this.routes.push({ table: 'main', dst: network(ip, prefixlen), dev, metric: 0, src: ip, scope: 'link' });
      return ok();
    }
    const before = link.addrs.length;
    link.addrs = link.addrs.filter((a) => !(a.local === ip && a.prefixlen === prefixlen));
    if (link.addrs.length === before) return fail('RTNETLINK answers: Cannot assign requested address');
    this.routes = this.routes.filter((r) => !(r.dev === dev && r.src === ip));
    return ok();
  }

  private link(verb: string, ws: string[]): ExecResult {
    const name = ws[0];
    const link = this.links.get(name);
    if (verb === 'add') {
      if (link) return fail('RTNETLINK answers: File exists');
      this.links.set(name, { flags: ['POINTOPOINT', 'NOARP'], link_type: 'ipip', kind: 'ipip', local: after(ws, 'local'), remote: after(ws, 'remote'), addrs: [] });
      return ok();
    }
    if (!link) return fail(`Cannot find device "${name}"`);
    if (verb === 'del') {
      this.links.delete(name);
      this.routes = this.routes.filter((r) => r.dev !== name);
    } else if (ws[1] === 'up') link.flags = [...link.flags.filter((f) => f !== 'UP' && f !== 'LOWER_UP'), 'UP', 'LOWER_UP'];
    else if (ws[1] === 'down') link.flags = link.flags.filter((f) => f !== 'UP' && f !== 'LOWER_UP');
    else if (ws[1] === 'type') Object.assign(link, { local: after(ws, 'local'), remote: after(ws, 'remote') });
    else return fail(`unexpected ip link ${verb} ${ws.join(' ')}`);
    return ok();
  }

  private route(verb: string, ws: string[]): ExecResult {
    const gateway = after(ws, 'via');
    const r: FakeRoute = {
      table: after(ws, 'table') ?? 'main',
      dst: ws[0],
      ...(gateway ? { gateway } : {}),
      // Without a device the kernel takes the one whose subnet holds the gateway.
      dev: after(ws, 'dev') ?? [...this.links].find(([, l]) => l.addrs.some((a) => gateway && inSubnet(a.local, a.prefixlen, gateway)))?.[0],
      metric: Number(after(ws, 'metric') ?? 0),
      ...(after(ws, 'src') ? { src: after(ws, 'src') } : {}),
      scope: after(ws, 'scope') ?? 'global',
    };
    const same = (x: FakeRoute) => x.table === r.table && x.dst === r.dst && x.metric === r.metric;
    if (verb === 'del' && !this.routes.some(same)) return fail('RTNETLINK answers: No such process');
    this.routes = this.routes.filter((x) => !same(x));
    if (verb === 'replace') this.routes.push(r);
    return ok();
  }

  private modprobe(args: readonly string[]): ExecResult {
    const remove = args[0] === '-r';
    const name = args[remove ? 1 : 0];
    if (remove) this.modules.delete(name);
    else this.modules.add(name);
    if (name === 'ipip' && !remove && !this.links.has('tunl0')) this.links.set('tunl0', { flags: ['NOARP'], link_type: 'ipip', kind: 'ipip', addrs: [] });
    return ok();
  }

  private iptablesSave(): string {
    return [...this.iptables]
      .map(([name, t]) => [`*${name}`, ...t.chains.map((c) => `:${c.name} ${c.policy ?? '-'} [0:0]`), ...t.rules, 'COMMIT', ''].join('\n'))
      .join('');
  }

  private iptablesCmd(args: readonly string[]): ExecResult {
    const t = this.iptables.get(args[1]);
    if (!t) return fail(`iptables: table ${args[1]} does not exist`);
    if (args[2] === '-F') t.rules = [];
    else if (args[2] === '-X') t.chains = t.chains.filter((c) => c.policy !== null);
    else if (args[2] === '-P') t.chains = t.chains.map((c) => (c.name === args[3] ? { ...c, policy: args[4] } : c));
    else if (args[2] !== '-n') return fail(`unexpected iptables ${args.join(' ')}`);
    return ok();
  }
}
