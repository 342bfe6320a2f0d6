import nunjucks from 'nunjucks';

/** nunjucks' AST, as much of it as is read here (its parser is public but untyped). */
interface AstNode {
  typename: string;
  fields: string[];
  value?: unknown;
  [field: string]: unknown;
}

const parser = (nunjucks as unknown as { parser: { parse(src: string): AstNode } }).parser;

const isNode = (v: unknown): v is AstNode => !!v && typeof v === 'object' && Array.isArray((v as AstNode).fields);

/** `a`, `a.b`, `a['b']` as a path of names; undefined for anything computed. */
function chain(node: AstNode): string[] | undefined {
  if (node.typename === 'Symbol') return [String(node.value)];
  if (node.typename !== 'LookupVal' || !isNode(node.target) || !isNode(node.val) || node.val.typename !== 'Literal') return undefined;
  const head = chain(node.target);
  return head && [...head, String(node.val.value)];
}

/** Filters and tests that exist to handle a missing value: their subject is not a mistake. */
const GUARDS = new Set(['default', 'd', 'defined', 'undefined', 'none']);

/**
 * The variables a template reads, in source order, as paths (`facts.os.kernel`), leaving out
 * loop and `set` variables, filter and function names, and what `default` or `is defined` guard.
 */
export function templateRefs(src: string): string[][] {
  const refs: string[][] = [];
  const locals = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!isNode(node)) return;
    const path = chain(node);
    if (path) {
      if (!locals.has(path[0]!)) refs.push(path);
      return;
    }
    if (node.typename === 'For') {
      locals.add('loop');
      for (const s of [node.name].flat()) if (isNode(s)) for (const x of s.typename === 'Array' ? (s.children as AstNode[]) : [s]) locals.add(String(x.value));
    }
    if (node.typename === 'Set') for (const s of (node.targets as unknown[]) ?? []) if (isNode(s)) locals.add(String(s.value));
    // `x | default(...)` and `x is defined` are how a template says x may be missing.
    const test = node.typename === 'Is' && isNode(node.right) ? String((isNode(node.right.name) ? node.right.name : node.right).value) : undefined;
    const filter = node.typename === 'Filter' && isNode(node.name) ? String(node.name.value) : undefined;
    if (GUARDS.has(test ?? filter ?? '')) return;
    if (node.typename === 'Is') return walk(node.left);
    for (const f of node.fields) if (!((node.typename === 'Filter' || node.typename === 'FunCall') && f === 'name')) walk(node[f]);
  };
  walk(parser.parse(src));
  return refs;
}

/**
 * Which variable a template failed on for being undefined (or null): the first reference, in
 * source order, whose value is missing, as `name` or `a.b` up to the missing part.
 */
export function missingVariable(src: string, vars: Record<string, unknown>): { name: string; isNull: boolean } | undefined {
  let refs: string[][];
  try {
    refs = templateRefs(src);
  } catch {
    return undefined;
  }
  for (const path of refs) {
    let v: unknown = vars;
    for (let i = 0; i < path.length; i++) {
      v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[path[i]!] : undefined;
      if (v === undefined || v === null) return { name: path.slice(0, i + 1).join('.'), isNull: v === null };
    }
  }
  return undefined;
}
