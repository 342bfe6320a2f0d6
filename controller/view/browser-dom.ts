/**
 * Helpers of the health view's browser script. Each function stands alone (no imports, no
 * module state): page.ts sends their source to the browser, so they run there as written.
 * Data only ever becomes text nodes; no markup is built from strings.
 */

type Child = Node | string | number | null | undefined | false;

/** An element with a class and children; strings become text nodes, never markup. */
export function el(tag: string, cls?: string | null, ...children: Child[]): HTMLElement {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(typeof c === 'number' ? String(c) : c);
  return e;
}

export function fmtAge(ms: number | null): string {
  if (ms === null) return 'never';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 172_800_000) return `${Math.round(ms / 3_600_000)} h`;
  return `${Math.round(ms / 86_400_000)} d`;
}

export function fmtBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n >= 10 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

export function fmtUptime(s: number): string {
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d ? `${d} d ${h} h` : h ? `${h} h ${m} min` : `${m} min`;
}

/** A number or a dash: counters the agent could not read are shown as unknown, not as 0. */
export function fmtNum(n: number | null | undefined, digits = 0): string {
  return n === null || n === undefined ? '–' : digits ? n.toFixed(digits) : String(Math.round(n));
}

/** `12:03:45` today, `2025-05-30 12:03` before. */
export function fmtTime(iso: string, now: number = Date.now()): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (x: number) => String(x).padStart(2, '0');
  const hms = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return now - d.getTime() < 86_400_000 ? hms : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hms.slice(0, 5)}`;
}

/** The class for a state word, from a fixed list: data never names a class. */
export function stateClass(state: string): string {
  const known: Record<string, string> = {
    online: 'ok', up: 'ok', ok: 'ok', changed: 'ok', intentional: 'muted',
    unresponsive: 'warn', running: 'warn', drained: 'warn', warn: 'warn', corrective: 'warn', unknown: 'muted',
    offline: 'bad', revoked: 'bad', down: 'bad', failed: 'bad', unreachable: 'bad', cancelled: 'warn', error: 'bad',
    info: 'muted',
  };
  return `badge ${known[state] ?? 'muted'}`;
}
