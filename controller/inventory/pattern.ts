import { CtlError } from '../../common/errors.js';
import { groupHosts } from './graph.js';
import { expandHostRange, HostRangeError } from './host-range.js';
import type { Inventory } from './types.js';

export interface PatternMatch {
  /** Selected hosts, in inventory order. */
  hosts: string[];
  /** Parts of the pattern (as written, with any `!`/`&`) that matched no host. */
  unmatched: string[];
}

const SLICE = /^(.+)\[(\d+):(\d*)\]$/;
const INDEX = /^(.+)\[(-?\d+)\]$/;
const NAME_RANGE = /\[[^\]]*:[^\]]*\]/;
const WILDCARD = /[*?[]/;

/**
 * Ansible's host pattern split: on `,` when there is one, else on `:` outside `[...]` (so
 * `web[0:1]` stays whole).
 */
export function splitPattern(pattern: string): string[] {
  const parts: string[] = [];
  if (pattern.includes(',')) parts.push(...pattern.split(','));
  else {
    let depth = 0;
    let cur = '';
    for (const c of pattern) {
      if (c === '[') depth++;
      else if (c === ']') depth = Math.max(0, depth - 1);
      if (c === ':' && depth === 0) {
        parts.push(cur);
        cur = '';
      } else cur += c;
    }
    parts.push(cur);
  }
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

/**
 * Evaluates a pattern the way Ansible does: unions first, then `&` intersections, then `!`
 * exclusions, whatever order they are written in; only exclusions or intersections start from
 * `all`. Never throws for a pattern that matches nothing; see `selectHosts`.
 */
export function matchPattern(inv: Inventory, pattern: string): PatternMatch {
  const parts = splitPattern(pattern);
  if (parts.length === 0) throw new CtlError('CTL_ERR_PATTERN_SYNTAX', 'host pattern is empty', { field: pattern });
  for (const p of parts) checkBrackets(p, pattern);
  const regular = parts.filter((p) => p[0] !== '!' && p[0] !== '&');
  const intersect = parts.filter((p) => p[0] === '&');
  const exclude = parts.filter((p) => p[0] === '!');
  const unmatched: string[] = [];
  const match = (part: string, body: string): Set<string> => {
    if (body === '') throw new CtlError('CTL_ERR_PATTERN_SYNTAX', `'${part}' in pattern '${pattern}' has nothing after '${part[0]}'`, { field: part });
    const found = new Set(matchOne(inv, body));
    if (found.size === 0) unmatched.push(part);
    return found;
  };

  const selected = new Set<string>();
  for (const p of regular.length ? regular : ['all']) for (const h of match(p, p)) selected.add(h);
  for (const p of intersect) {
    const keep = match(p, p.slice(1));
    for (const h of selected) if (!keep.has(h)) selected.delete(h);
  }
  for (const p of exclude) for (const h of match(p, p.slice(1))) selected.delete(h);
  return { hosts: [...inv.hosts.keys()].filter((h) => selected.has(h)), unmatched };
}

/** Hosts a pattern selects, in inventory order; throws CTL_ERR_PATTERN when there are none. */
export function selectHosts(inv: Inventory, pattern: string): string[] {
  const { hosts, unmatched } = matchPattern(inv, pattern);
  if (hosts.length > 0) return hosts;
  let why = '';
  if (inv.hosts.size === 0) why = `: inventory ${inv.file} has no hosts`;
  else if (unmatched.length) why = `: no host or group matches ${unmatched.map((u) => `'${u}'`).join(', ')}`;
  throw new CtlError('CTL_ERR_PATTERN', `pattern '${pattern}' matches no host${why}`, {
    field: unmatched[0] ?? pattern,
  });
}

/**
 * A `[` never closed (`h[3:`) or a `]` never opened is a typing mistake, not a name that matches
 * nothing. Regex parts (`~...`) are left to the regex parser.
 */
function checkBrackets(part: string, pattern: string): void {
  const body = part.replace(/^[!&]/, '');
  if (body.startsWith('~')) return;
  let open = -1;
  for (let i = 0; i < body.length; i++) {
    if (body[i] === '[' && open < 0) open = i;
    else if (body[i] === ']') {
      if (open < 0) throw new CtlError('CTL_ERR_PATTERN_SYNTAX', `syntax error in host pattern '${pattern}': ']' at ${i + 1} in '${body}' has no '['`, { field: part });
      open = -1;
    }
  }
  if (open >= 0) throw new CtlError('CTL_ERR_PATTERN_SYNTAX', `syntax error in host pattern '${pattern}': '[' at ${open + 1} in '${body}' is never closed`, { field: part });
}

/** One part of a pattern, without its `!` or `&`. */
function matchOne(inv: Inventory, body: string): string[] {
  if (body.startsWith('~')) return enumerate(inv, body);
  if (NAME_RANGE.test(body)) {
    const slice = SLICE.exec(body);
    const head = body.slice(0, body.indexOf('['));
    if (slice && isName(inv, slice[1]!)) return subscript(enumerate(inv, slice[1]!), Number(slice[2]), slice[3]!);
    // Not Ansible: `server[3:4]` or `db-[a:f]` where `server`/`db-` names nothing is read as the
    // host range an inventory file would mean, not as a subscript or an fnmatch character class.
    if (!WILDCARD.test(head)) {
      let names: string[];
      try {
        names = expandHostRange(body);
      } catch (e) {
        if (e instanceof HostRangeError) throw new CtlError('CTL_ERR_PATTERN_SYNTAX', `bad range in pattern '${body}': ${e.message}`, { field: body });
        throw e;
      }
      return names.filter((n) => inv.hosts.has(n));
    }
    if (slice) return subscript(enumerate(inv, slice[1]!), Number(slice[2]), slice[3]!);
    return enumerate(inv, body);
  }
  const index = INDEX.exec(body);
  if (index) {
    const hosts = enumerate(inv, index[1]!);
    const i = Number(index[2]);
    const h = hosts[i < 0 ? hosts.length + i : i];
    return h === undefined ? [] : [h];
  }
  return enumerate(inv, body);
}

function isName(inv: Inventory, name: string): boolean {
  return inv.groups.has(name) || inv.hosts.has(name);
}

/** `[start:end]`, both inclusive; no end means to the last host. */
function subscript(hosts: string[], start: number, end: string): string[] {
  return hosts.slice(start, end === '' ? undefined : Number(end) + 1);
}

/**
 * Groups matching the expression give their hosts; hosts are matched by name when no group
 * matched or the expression is a regex or glob, as Ansible's `_enumerate_matches` does.
 */
function enumerate(inv: Inventory, expr: string): string[] {
  const re = expr.startsWith('~') ? pythonRegex(expr.slice(1)) : fnmatchRegex(expr);
  const found = new Set<string>();
  const groups = [...inv.groups.keys()].filter((g) => re.test(g));
  for (const g of groups) for (const h of groupHosts(inv, g)) found.add(h);
  if (groups.length === 0 || expr.startsWith('~') || /[.?*[]/.test(expr)) {
    for (const h of inv.hosts.keys()) if (re.test(h)) found.add(h);
  }
  return [...inv.hosts.keys()].filter((h) => found.has(h));
}

/** Python's `re.match`: anchored at the start only. */
function pythonRegex(src: string): RegExp {
  const js = src.replace(/\(\?P</g, '(?<').replace(/\(\?P=(\w+)\)/g, '\\k<$1>');
  try {
    return new RegExp(`^(?:${js})`);
  } catch (e) {
    throw new CtlError('CTL_ERR_PATTERN_SYNTAX', `invalid regular expression '~${src}': ${(e as Error).message}`, { field: `~${src}` });
  }
}

/** Python's `fnmatch.translate`: `*`, `?`, `[seq]`, `[!seq]`; the whole name must match. */
export function fnmatchRegex(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      let j = i + 1;
      if (glob[j] === '!') j++;
      if (glob[j] === ']') j++;
      while (j < glob.length && glob[j] !== ']') j++;
      if (j >= glob.length) out += '\\[';
      else {
        let set = glob.slice(i + 1, j).replace(/\\/g, '\\\\');
        if (set.startsWith('!')) set = '^' + set.slice(1);
        else if (set.startsWith('^')) set = '\\' + set;
        out += `[${set}]`;
        i = j;
      }
    } else out += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  try {
    return new RegExp(`^(?:${out})$`, 's');
  } catch (e) {
    // A character class Python accepts and JavaScript does not, such as `[z-a]`.
    throw new CtlError('CTL_ERR_PATTERN_SYNTAX', `invalid wildcard '${glob}': ${(e as Error).message.replace(/^Invalid regular expression: \/.*\/\w*: /s, '')}`, { field: glob });
  }
}
