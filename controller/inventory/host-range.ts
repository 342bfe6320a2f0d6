/**
 * Host name ranges as Ansible's inventory files write them: `www[01:50]` (leading zeros kept,
 * both ends the same width), `db-[a:f]`, `node[1:9:2]` (step), several ranges in one name.
 */
export class HostRangeError extends Error {}

// Ansible's letter ranges index into string.ascii_letters, so `[x:B]` runs x..z, A..B.
const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** More hosts than one inventory line or pattern should ever name: a typo (`[0:99999999]`), refused. */
export const MAX_RANGE_HOSTS = 100_000;

export function expandHostRange(name: string, budget = MAX_RANGE_HOSTS): string[] {
  const open = name.indexOf('[');
  const close = name.indexOf(']');
  if (open < 0 && close < 0) return [name];
  if (close < 0) throw new HostRangeError(`unterminated '[' in '${name}'`);
  if (open < 0 || close < open) throw new HostRangeError(`']' without '[' in '${name}'`);
  const head = name.slice(0, open);
  const body = name.slice(open + 1, close);
  const tail = name.slice(close + 1);
  const bounds = body.split(':');
  if (bounds.length !== 2 && bounds.length !== 3) {
    throw new HostRangeError(`range '[${body}]' must be [begin:end] or [begin:end:step]`);
  }
  const [rawBeg, end, stepText] = bounds as [string, string, string | undefined];
  const beg = rawBeg === '' ? '0' : rawBeg;
  if (end === '') throw new HostRangeError(`range '[${body}]' has no end`);
  let step = 1;
  if (stepText !== undefined) {
    if (!/^[1-9]\d*$/.test(stepText)) throw new HostRangeError(`range '[${body}]' step must be a positive integer`);
    step = Number(stepText);
  }
  const items: string[] = [];
  const fits = (b: number, e: number) => {
    const count = Math.floor((e - b) / step) + 1;
    if (count > budget) throw new HostRangeError(`range '[${body}]' in '${name}' names ${count > MAX_RANGE_HOSTS ? 'more than ' + MAX_RANGE_HOSTS : count} hosts; at most ${MAX_RANGE_HOSTS} per name`);
    return count;
  };
  let count: number;
  if (/^\d+$/.test(beg) && /^\d+$/.test(end)) {
    const width = beg.length > 1 && beg.startsWith('0') ? beg.length : 0;
    if (width && end.length !== width) {
      throw new HostRangeError(`range '[${body}]' must have begin and end of the same width`);
    }
    const b = Number(beg);
    const e = Number(end);
    if (b > e) throw new HostRangeError(`range '[${body}]' has begin after end`);
    count = fits(b, e);
    for (let n = b; n <= e; n += step) items.push(width ? String(n).padStart(width, '0') : String(n));
  } else if (LETTERS.includes(beg) && beg.length === 1 && LETTERS.includes(end) && end.length === 1) {
    const b = LETTERS.indexOf(beg);
    const e = LETTERS.indexOf(end);
    if (b > e) throw new HostRangeError(`range '[${body}]' has begin after end`);
    count = fits(b, e);
    for (let n = b; n <= e; n += step) items.push(LETTERS[n]!);
  } else {
    throw new HostRangeError(`range '[${body}]' must be two numbers or two single letters`);
  }
  // Several ranges in one name multiply: each later range gets what is left of the budget.
  return items.flatMap((item) => expandHostRange(head + item + tail, Math.floor(budget / count)));
}

/**
 * A host as an inventory file names it: a name or range with an optional `:port`, which Ansible
 * turns into `ansible_port`. A name with several colons is an IPv6 address, not a port.
 */
export function expandHostToken(token: string): { names: string[]; port?: number } {
  if (token.includes('=')) {
    throw new HostRangeError(`'${token}' is not a host name; variables go after the host name or in a [group:vars] section`);
  }
  if (token === '---') throw new HostRangeError(`'---' starts a YAML document; name the file .yml to read it as YAML`);
  let depth = 0;
  const colons: number[] = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === '[') depth++;
    else if (token[i] === ']') depth--;
    else if (token[i] === ':' && depth === 0) colons.push(i);
  }
  if (colons.length === 1) {
    const at = colons[0]!;
    const port = token.slice(at + 1);
    if (!/^\d+$/.test(port) || Number(port) > 65535) {
      throw new HostRangeError(`port '${port}' after '${token.slice(0, at)}:' must be a number from 0 to 65535`);
    }
    return { names: expandHostRange(token.slice(0, at)), port: Number(port) };
  }
  return { names: colons.length > 1 ? [token] : expandHostRange(token) };
}
