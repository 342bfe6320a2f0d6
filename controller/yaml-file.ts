import { promises as fs } from 'node:fs';
import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Node } from 'yaml';
import { CtlError, type ErrorCode } from '../common/errors.js';

export interface YamlFile {
  file: string;
  value: unknown;
  /** 1-based line of a node, for error messages. */
  lineOf(node: Node | null | undefined): number | undefined;
  root: Node | null;
}

/** Parses YAML keeping line numbers; syntax errors become one-line CtlErrors with file:line. */
export function parseYaml(text: string, file: string, code: ErrorCode): YamlFile {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, logLevel: 'error' });
  const err = doc.errors[0];
  if (err) {
    const line = err.linePos?.[0]?.line ?? lc.linePos(err.pos[0]).line;
    throw new CtlError(code, err.message.split('\n')[0], { file, line });
  }
  const lineOf = (node: Node | null | undefined) => (node?.range ? lc.linePos(node.range[0]).line : undefined);
  return { file, value: toJS(() => doc.toJS({ maxAliasCount: 100 }), file, code, 1), root: doc.contents as Node | null, lineOf };
}

/**
 * Turning a parsed document into values can still fail: an alias to an anchor defined later or
 * never (`*a`), or aliases that would expand without bound. Those are the file's errors too.
 */
function toJS<T>(f: () => T, file: string, code: ErrorCode, line: number | undefined): T {
  try {
    return f();
  } catch (e) {
    throw new CtlError(code, `YAML: ${(e as Error).message.split('\n')[0]}`, { file, ...(line ? { line } : {}) });
  }
}

export async function readYaml(file: string, code: ErrorCode, notFound: ErrorCode = code): Promise<YamlFile> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new CtlError(notFound, `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file });
  }
  return parseYaml(text, file, code);
}

/** Items of a top-level sequence with their line numbers. */
export function seqItems(y: YamlFile): { value: unknown; line?: number; node: Node }[] {
  if (!y.root || !isSeq(y.root)) return [];
  // Values from the whole document's conversion: an item alone cannot resolve its aliases.
  const values = Array.isArray(y.value) ? y.value : [];
  return y.root.items.map((n, i) => ({ value: values[i], line: y.lineOf(n as Node), node: n as Node }));
}

/** Line of a key inside a mapping node, when there is one. */
export function keyLine(y: YamlFile, node: Node, key: string): number | undefined {
  if (!isMap(node)) return y.lineOf(node);
  const pair = node.items.find((p) => isScalar(p.key) && p.key.value === key);
  return pair ? y.lineOf(pair.key as Node) : y.lineOf(node);
}

/**
 * Line of the entry a dotted path leads to inside a node (`sysctl.value`, `loop.2`), or of
 * the deepest part of the path that exists, so an error points at the field, not its task.
 */
export function lineAt(y: YamlFile, node: Node, path: string[]): number | undefined {
  let cur: unknown = node;
  let line = y.lineOf(node);
  for (const key of path) {
    if (isMap(cur)) {
      const pair = cur.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
      if (!pair) break;
      line = y.lineOf(pair.key as Node) ?? line;
      cur = pair.value;
    } else if (isSeq(cur) && /^\d+$/.test(key) && cur.items[Number(key)]) {
      cur = cur.items[Number(key)];
      line = y.lineOf(cur as Node) ?? line;
    } else break;
  }
  return line;
}
