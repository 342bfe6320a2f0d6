/**
 * Expected HTTP status codes as an operator writes them: `200`, `"200-399"`, `"200,301-302"`,
 * `[200, "301-302"]`. Normalised to one string (`200,301-302`) so that a parsed check parses
 * again to itself (the state file stores parsed checks).
 */

const PIECE = /^([1-5]\d\d)(?:-([1-5]\d\d))?$/;

export const STATUS_HINT = 'must be HTTP status codes 100-599 like 200, "200-399" or [200, "301-302"]';

/** The normalised text, or undefined when the input is not a list of codes and ranges. */
export function normalizeStatus(input: unknown): string | undefined {
  const items = Array.isArray(input) ? input : [input];
  if (!items.length) return undefined;
  const pieces: string[] = [];
  for (const item of items) {
    if (typeof item === 'number' && Number.isInteger(item)) pieces.push(String(item));
    else if (typeof item === 'string') pieces.push(...item.split(',').map((p) => p.trim()));
    else return undefined;
  }
  for (const p of pieces) {
    const m = PIECE.exec(p);
    if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) return undefined;
  }
  return pieces.join(',');
}

/** `200,301-302` -> [[200, 200], [301, 302]]; the input is a normalised string. */
export function statusRanges(normalized: string): [number, number][] {
  return normalized.split(',').map((p) => {
    const [lo, hi = lo] = p.split('-').map(Number);
    return [lo, hi];
  });
}

export function statusMatches(ranges: readonly [number, number][], code: number): boolean {
  return ranges.some(([lo, hi]) => code >= lo && code <= hi);
}
