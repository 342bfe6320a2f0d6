import { InvalidArgumentError } from 'commander';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 };

/** `90`, `90s`, `5m`, `1h`, `1h30m` (a plain number is seconds) -> milliseconds, for commander options. */
export function duration(value: string): number {
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|min|s|m|h)?/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== value || (parts.length > 1 && parts.some((p) => !p[2]))) {
    throw new InvalidArgumentError('must be a duration like 90, 30s, 5m, 1h or 1h30m');
  }
  return parts.reduce((ms, p) => ms + Number(p[1]) * UNIT_MS[p[2] ?? 's']!, 0);
}
