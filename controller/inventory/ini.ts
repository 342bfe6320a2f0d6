import { checkGroupPriority, InventoryBuilder, parseError, textLines, VAR_NAME } from './build.js';
import { parsePyLiteral } from './py-literal.js';
import { shlexSplit, ShlexError } from './shlex.js';
import type { Inventory } from './types.js';

// Same shapes as Ansible's INI plugin; `;` is also accepted as a trailing comment.
const SECTION = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:[#;].*)?$/;
const GROUP_NAME = /^([^:\]\s]+)\s*(?:[#;].*)?$/;

type Kind = 'hosts' | 'children' | 'vars';

/**
 * Ansible's INI inventory: `[g]` hosts, `[g:children]`, `[g:vars]`, hosts before any section are
 * `ungrouped`. Every value (host line or `:vars`) is read as a Python literal, as ansible-core does.
 */
export function parseIni(text: string, file: string): Inventory {
  const b = new InventoryBuilder(file);
  // A group exists once it has a [g] or [g:children] section; [g:vars] alone does not define it.
  const defined = new Set(['all', 'ungrouped']);
  const varSections: { group: string; line: number }[] = [];
  const childRefs: { parent: string; child: string; line: number }[] = [];
  let group = 'ungrouped';
  let kind: Kind = 'hosts';

  textLines(text).forEach((raw, i) => {
    const n = i + 1;
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) return;

    if (line.startsWith('[')) {
      [group, kind] = parseSection(line, file, n);
      if (kind === 'vars') {
        b.addGroup(group);
        varSections.push({ group, line: n });
      } else {
        b.addGroup(group, n);
        defined.add(group);
      }
      return;
    }
    if (kind === 'hosts') {
      hostLine(b, line, group, file, n);
    } else if (kind === 'children') {
      const m = GROUP_NAME.exec(line);
      if (!m) throw parseError(file, n, `[${group}:children]`, `expected one group name, got '${line}'`);
      childRefs.push({ parent: group, child: m[1]!, line: n });
      b.addChild(group, m[1]!, n, `[${group}:children]`);
    } else {
      const [key, value] = varLine(line, group, file, n);
      if (key === 'ansible_group_priority') checkGroupPriority(file, n, `[${group}:vars]`, value);
      b.setGroupVars(group, { [key]: value });
    }
  });

  const undefinedVars = varSections.find((v) => !defined.has(v.group));
  const undefinedChild = childRefs.find((c) => !defined.has(c.child));
  if (undefinedVars && (!undefinedChild || undefinedVars.line < undefinedChild.line)) {
    const { group: g, line } = undefinedVars;
    throw parseError(file, line, `[${g}:vars]`, `group '${g}' has vars but is never defined by a [${g}] or [${g}:children] section`);
  }
  if (undefinedChild) {
    const { parent, child, line } = undefinedChild;
    throw parseError(file, line, `[${parent}:children]`, `child group '${child}' of '${parent}' is never defined`);
  }
  return b.finish();
}

function parseSection(line: string, file: string, n: number): [string, Kind] {
  const m = SECTION.exec(line);
  if (!m) {
    const close = line.indexOf(']');
    const field = close < 0 ? line : line.slice(0, close + 1);
    let why = `invalid section header '${field}'`;
    if (close < 0) why = `unterminated '[' in section header '${line}'`;
    else if (/\s/.test(field)) why = `section header '${field}' must not contain spaces`;
    else if (/^\[[:\]]/.test(field)) why = `section header '${field}' has no group name`;
    else if (!/^\s*(?:[#;].*)?$/.test(line.slice(close + 1))) why = `unexpected text after '${field}'`;
    throw parseError(file, n, field, why);
  }
  const [, name, suffix] = m;
  const kind = suffix ?? 'hosts';
  if (kind !== 'hosts' && kind !== 'children' && kind !== 'vars') {
    throw parseError(file, n, `[${name}:${suffix}]`, `unknown section type '${suffix}' (expected hosts, children or vars)`);
  }
  return [name!, kind];
}

function hostLine(b: InventoryBuilder, line: string, group: string, file: string, n: number): void {
  const first = line.split(/\s+/)[0]!;
  let words: string[];
  try {
    words = shlexSplit(line);
  } catch (e) {
    if (e instanceof ShlexError) throw parseError(file, n, first, `unbalanced quotes in host line: ${e.message}`);
    throw e;
  }
  const token = words[0];
  if (!token) throw parseError(file, n, first, `expected a host name, got '${line}'`);
  const vars: Record<string, unknown> = {};
  for (const word of words.slice(1)) {
    const eq = word.indexOf('=');
    if (eq < 0) throw parseError(file, n, token, `expected key=value after host '${token}', got '${word}'`);
    const key = word.slice(0, eq);
    if (!VAR_NAME.test(key)) throw parseError(file, n, token, `'${key}' is not a valid variable name`);
    vars[key] = parsePyLiteral(word.slice(eq + 1));
  }
  b.addHostToken(token, group, vars, n, token);
}

function varLine(line: string, group: string, file: string, n: number): [string, unknown] {
  const field = `[${group}:vars]`;
  const eq = line.indexOf('=');
  if (eq < 0) throw parseError(file, n, field, `expected key=value, got '${line}'`);
  const key = line.slice(0, eq).trim();
  if (!VAR_NAME.test(key)) throw parseError(file, n, field, `'${key}' is not a valid variable name`);
  return [key, parsePyLiteral(line.slice(eq + 1).trim())];
}
