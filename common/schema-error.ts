import type { z } from 'zod';
import { CtlError, type ErrorCode } from './errors.js';

type Issue = z.core.$ZodIssue;

/** `body.inventory`, `response[0].online`: the path as a reader would write it. */
export function fieldPath(root: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : `${s}.${String(k)}`), root);
}

// zod's messages start with a category ("Invalid input: expected boolean, received string");
// the field path already says where, so only the part after it is kept.
const CATEGORY = /^(Invalid input|Invalid option|Too small|Too big|Invalid string|Invalid key): /;

function received(msg: string): string | undefined {
  return /received (\w+)$/.exec(msg)?.[1];
}

/** The types a union (of unions) wanted, when every branch failed on the value's type alone. */
function expectedTypes(issue: Issue): z.core.$ZodIssueInvalidType[] | undefined {
  if (issue.code === 'invalid_type') return [issue];
  if (issue.code !== 'invalid_union' || !issue.errors.length) return undefined;
  const out: z.core.$ZodIssueInvalidType[] = [];
  for (const branch of issue.errors) {
    const top = branch.find((i) => i.path.length === 0);
    const types = top && expectedTypes(top);
    if (!types) return undefined;
    out.push(...types);
  }
  return out;
}

function issueText(issue: Issue): string {
  if (issue.code === 'invalid_type' && received(issue.message) === 'undefined') return `missing (expected ${issue.expected})`;
  if (issue.code === 'invalid_union') {
    // A value of none of several types: say which types, not "Invalid input".
    const types = expectedTypes(issue);
    if (types) {
      const expected = [...new Set(types.map((t) => t.expected))].join(' or ');
      const got = received(types[0]!.message);
      return got === 'undefined' ? `missing (expected ${expected})` : `expected ${expected}, received ${got}`;
    }
  }
  return issue.message.replace(CATEGORY, '');
}

function describe(root: string, issue: Issue, base: readonly PropertyKey[]): { field: string; text: string }[] {
  const at = [...base, ...issue.path];
  if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => ({ field: fieldPath(root, [...at, k]), text: 'unknown field' }));
  if (issue.code === 'invalid_union') {
    // One branch had the right type and failed inside (`inventory: ['a', 7]`): that is the problem.
    const inside = issue.errors.filter((branch) => branch.length && branch.every((i) => i.path.length > 0));
    if (inside.length === 1) return inside[0]!.flatMap((i) => describe(root, i, at));
  }
  return [{ field: fieldPath(root, at), text: issueText(issue) }];
}

/** One line per problem: `body.check: expected boolean, received string`. */
export function describeIssues(root: string, issues: readonly Issue[]): { field: string; text: string }[] {
  return issues.flatMap((issue) => describe(root, issue, []));
}

/**
 * A schema mismatch as one coded error: the first field in `where.field` (so the error line
 * reads `body.check: expected boolean, received string`), any further ones after it.
 */
export function schemaError(code: ErrorCode, root: string, issues: readonly Issue[], suffix = ''): CtlError {
  const [first, ...rest] = describeIssues(root, issues);
  const more = rest.map((r) => `; ${r.field}: ${r.text}`).join('');
  return new CtlError(code, `${first?.text ?? 'does not match the schema'}${more}${suffix}`, { field: first?.field ?? root });
}
