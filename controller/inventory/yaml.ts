import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document, Node, Pair, ScalarTag, Tags } from 'yaml';
import { checkGroupPriority, InventoryBuilder, parseError, VAR_NAME } from './build.js';
import type { Inventory } from './types.js';

type Doc = Document.Parsed;

/**
 * Ansible's YAML inventory: `all: {hosts: {h: {vars}}, children: {g: {...}}, vars: {...}}`, any
 * group at the top level. Read as YAML 1.1, as Ansible's PyYAML does (`yes` is true, `0644` octal).
 */
export function parseYamlInventory(text: string, file: string): Inventory {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, version: '1.1', customTags: pyyamlBools, logLevel: 'error' });
  const lineOf = (node: unknown): number | undefined => {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    return range ? lc.linePos(range[0]).line : undefined;
  };
  const err = doc.errors[0];
  if (err) {
    let at = err.pos[0];
    // yaml places a repeated key with no value at the end of the line before it.
    if (err.code === 'DUPLICATE_KEY') while (/\s/.test(text[at] ?? '')) at++;
    const around = pathAt(doc, at);
    // An unclosed quote or flow collection is found where the input runs out; where it was
    // opened is the line to fix.
    const unclosed = err.code === 'MISSING_CHAR' || (err.code === 'BAD_INDENT' && /^Flow /.test(err.message));
    if (unclosed && around?.start !== undefined) at = around.start;
    const detail = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw parseError(file, lc.linePos(at).line, around?.path ?? err.code, `YAML syntax error: ${detail}`);
  }

  const b = new InventoryBuilder(file);
  const fail = (node: unknown, field: string, detail: string): never => {
    throw parseError(file, lineOf(node) ?? 1, field, detail);
  };
  const resolve = (node: unknown): unknown => (isAlias(node) ? node.resolve(doc) : node);
  const isNull = (node: unknown): boolean => node == null || (isScalar(node) && node.value == null);
  const keyText = (pair: Pair, field: string): string => {
    const k = resolve(pair.key);
    if (!isScalar(k) || k.value == null || typeof k.value === 'object') fail(pair.key, field, `expected a name, got ${describe(k)}`);
    return String((k as { value: unknown }).value);
  };
  const pairs = (node: unknown): Pair[] => (isMap(node) ? (node.items as Pair[]) : []);
  // Ansible accepts `hosts: server2` and `children: lvs` as a mapping of one name.
  const asMapping = (node: unknown, field: string, what: string): Pair[] | undefined => {
    const n = resolve(node);
    if (isNull(n)) return undefined;
    if (isScalar(n) && typeof n.value === 'string') return [{ key: n, value: null } as unknown as Pair];
    if (!isMap(n)) fail(n, field, `${what} must be a mapping, not ${describe(n)}`);
    return pairs(n);
  };
  const varsOf = (node: unknown, field: string, what: string): Record<string, unknown> => {
    const n = resolve(node);
    if (isNull(n)) return {};
    if (!isMap(n)) fail(n, field, `${what} must be a mapping, not ${describe(n)}`);
    for (const p of pairs(n)) {
      const key = keyText(p, field);
      if (key !== '<<' && !VAR_NAME.test(key)) fail(p.key, `${field}.${key}`, `'${key}' is not a valid variable name`);
      if (key === 'ansible_group_priority') {
        checkGroupPriority(file, lineOf(p.key), `${field}.${key}`, (resolve(p.value) as Node | null)?.toJS(doc));
      }
    }
    return (n as Node).toJS(doc) as Record<string, unknown>;
  };

  const group = (name: string, node: unknown, path: string, line: number | undefined): void => {
    b.addGroup(name, line);
    const n = resolve(node);
    if (isNull(n)) return;
    if (!isMap(n)) fail(n, path, `group '${name}' must be a mapping of hosts, children and vars, not ${describe(n)}`);
    for (const p of pairs(n)) {
      const key = keyText(p, path);
      const field = `${path}.${key}`;
      if (key === 'hosts') {
        if (isSeq(resolve(p.value))) {
          fail(p.value, field, `hosts of group '${name}' must be a mapping of host names to their vars, not a list`);
        }
        for (const h of asMapping(p.value, field, `hosts of group '${name}'`) ?? []) host(name, h, field);
      } else if (key === 'children') {
        for (const c of asMapping(p.value, field, `children of group '${name}'`) ?? []) {
          const child = keyText(c, field);
          group(child, c.value, `${field}.${child}`, lineOf(c.key));
          b.addChild(name, child, lineOf(c.key), field);
        }
      } else if (key === 'vars') {
        b.setGroupVars(name, varsOf(p.value, field, `vars of group '${name}'`));
      } else {
        fail(p.key, field, `unknown key '${key}' in group '${name}' (expected hosts, children or vars)`);
      }
    }
  };

  const host = (groupName: string, pair: Pair, path: string): void => {
    const token = keyText(pair, path);
    const field = `${path}.${token}`;
    b.addHostToken(token, groupName, varsOf(pair.value, field, `vars of host '${token}'`), lineOf(pair.key) ?? 1, field);
  };

  const root = resolve(doc.contents);
  if (isNull(root)) fail(root, 'all', 'YAML inventory is empty');
  if (!isMap(root)) fail(root, 'all', `top level must be a mapping of group names (usually 'all'), not ${describe(root)}`);
  for (const p of pairs(root)) {
    const name = keyText(p, 'top level');
    if (name === 'plugin') fail(p.key, 'plugin', 'inventory plugin configuration files are not supported; list hosts and groups');
    group(name, p.value, name, lineOf(p.key));
  }
  return b.finish();
}

/**
 * The yaml package's 1.1 booleans include `y` and `n`; PyYAML's, and so Ansible's, do not, and
 * `y: 2` or `answer: n` must stay strings.
 */
function pyyamlBools(tags: Tags): Tags {
  return tags.map((tag) => {
    if (typeof tag !== 'object' || tag.tag !== 'tag:yaml.org,2002:bool' || !('test' in tag) || !tag.test) return tag;
    const truthy = (tag as ScalarTag).identify?.(true);
    const test = truthy ? /^(?:[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/ : /^(?:[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/;
    return { ...tag, test };
  });
}

function describe(node: unknown): string {
  if (isSeq(node)) return 'a list';
  if (isMap(node)) return 'a mapping';
  if (isScalar(node)) {
    if (node.value == null) return 'null';
    return `${typeof node.value === 'string' ? 'the string' : `the ${typeof node.value}`} ${JSON.stringify(node.value)}`;
  }
  return 'nothing';
}

/**
 * The dotted key path of the innermost mapping entry around `offset`, to name the field of a
 * syntax error, and where that entry's value starts.
 */
function pathAt(doc: Doc, offset: number): { path: string; start?: number } | undefined {
  const path: string[] = [];
  let node: unknown = doc.contents;
  let start: number | undefined;
  for (;;) {
    if (!isMap(node)) break;
    const hit = (node.items as Pair[]).find((p) => {
      const from = (p.key as Node | null)?.range?.[0];
      const to = (p.value as Node | null)?.range?.[2] ?? (p.key as Node | null)?.range?.[2];
      return from !== undefined && to !== undefined && offset >= from && offset <= to;
    });
    if (!hit || !isScalar(hit.key)) break;
    path.push(String(hit.key.value));
    start = (hit.value as Node | null)?.range?.[0];
    node = hit.value;
  }
  return path.length ? { path: path.join('.'), start } : undefined;
}
