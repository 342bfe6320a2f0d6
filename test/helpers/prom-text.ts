/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4): `# HELP` and
 * `# TYPE` lines, then samples `name{label="value",...} number`. Throws on any line that is
 * not one of those, on a sample of a family with no TYPE, on a histogram without its
 * `_bucket{le="+Inf"}`, `_sum` and `_count`, and on a label value with a bad escape.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  types: Map<string, string>;
  help: Map<string, string>;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function labels(text: string, line: number): Record<string, string> {
  const out: Record<string, string> = {};
  let rest = text;
  while (rest.length) {
    const m = /^([^=]+)="((?:[^"\\]|\\[\\"n])*)"(,|$)/.exec(rest);
    if (!m || !LABEL.test(m[1])) throw new Error(`line ${line}: bad label set {${text}}`);
    if (m[1] in out) throw new Error(`line ${line}: label ${m[1]} twice`);
    out[m[1]] = m[2].replace(/\\(.)/g, (_x, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(m[0].length);
  }
  return out;
}

function number(v: string, line: number): number {
  if (v === '+Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  if (v === 'NaN') return NaN;
  if (!/^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(v)) throw new Error(`line ${line}: bad value '${v}'`);
  return Number(v);
}

export function parsePrometheusText(text: string): Exposition {
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: Sample[] = [];
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  for (const [i, raw] of text.split('\n').entries()) {
    const line = i + 1;
    if (!raw) continue;
    if (raw.startsWith('# HELP ')) {
      const [, name, ...words] = raw.split(' ').slice(1);
      if (!NAME.test(name ?? '')) throw new Error(`line ${line}: bad HELP`);
      help.set(name!, words.join(' '));
    } else if (raw.startsWith('# TYPE ')) {
      const [name, type, extra] = raw.slice(7).split(' ');
      if (!NAME.test(name ?? '') || !TYPES.has(type ?? '') || extra !== undefined) throw new Error(`line ${line}: bad TYPE '${raw}'`);
      if (types.has(name!)) throw new Error(`line ${line}: TYPE of ${name} twice`);
      types.set(name!, type!);
    } else if (raw.startsWith('#')) {
      continue;
    } else {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(raw);
      if (!m) throw new Error(`line ${line}: not a sample: ${raw}`);
      const name = m[1];
      const family = [name, name.replace(/_(bucket|sum|count)$/, '')].find((n) => types.has(n));
      if (!family) throw new Error(`line ${line}: sample ${name} has no TYPE`);
      samples.push({ name, labels: labels(m[2] ?? '', line), value: number(m[3], line) });
    }
  }
  for (const [name, type] of types) {
    if (type !== 'histogram') continue;
    const series = samples.filter((s) => s.name === `${name}_count`);
    for (const c of series) {
      const same = (s: Sample) => Object.entries(c.labels).every(([k, v]) => s.labels[k] === v);
      if (!samples.some((s) => s.name === `${name}_sum` && same(s))) throw new Error(`${name}: _count without _sum`);
      const inf = samples.find((s) => s.name === `${name}_bucket` && s.labels.le === '+Inf' && same(s));
      if (!inf || inf.value !== c.value) throw new Error(`${name}: +Inf bucket must equal _count`);
    }
  }
  return { types, help, samples };
}

/** The value of the one sample of that name whose labels include these. */
export function sample(e: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const hits = e.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (hits.length > 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${hits.length} samples`);
  return hits[0]?.value;
}
