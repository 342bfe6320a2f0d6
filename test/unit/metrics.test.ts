import test from 'ava';
import { ControllerMetrics } from '../../controller/metrics.js';
import { ViewSnapshotSchema } from '../../common/view.js';
import { sampleView } from '../helpers/view-sample.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict reader of the Prometheus text format (0.0.4): every line is a HELP, a TYPE or a
 * sample `name{label="value",...} value`; every sample belongs to a family declared by TYPE
 * before it (histograms by their _bucket/_sum/_count); label values use only the format's escapes.
 */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const sampleRe = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`);
  const labelRe = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"(?:,|$)/;
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  text.slice(0, -1).split('\n').forEach((line, i) => {
    const where = `line ${i + 1}: ${line}`;
    if (line === '') return;
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line))) return void helps.add(m[1]);
    if ((m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line))) {
      if (types.has(m[1])) throw new Error(`${where}: TYPE twice`);
      return void types.set(m[1], m[2]);
    }
    if (line.startsWith('#')) throw new Error(`${where}: not HELP or TYPE`);
    if (!(m = sampleRe.exec(line))) throw new Error(`${where}: not a sample`);
    const [, name, rawLabels = '', rawValue] = m;
    const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
    if (!types.has(family)) throw new Error(`${where}: no TYPE before it`);
    if (family !== name && types.get(family) !== 'histogram' && types.get(family) !== 'summary') throw new Error(`${where}: suffix on a ${types.get(family)}`);
    if (!helps.has(family)) throw new Error(`${where}: no HELP`);
    const labels: Record<string, string> = {};
    let rest = rawLabels;
    while (rest) {
      const l = labelRe.exec(rest);
      if (!l) throw new Error(`${where}: bad labels at ${rest}`);
      labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
      rest = rest.slice(l[0].length);
    }
    const value = rawValue === '+Inf' ? Infinity : rawValue === '-Inf' ? -Infinity : Number(rawValue);
    if (rawValue !== 'NaN' && Number.isNaN(value)) throw new Error(`${where}: bad value`);
    samples.push({ name, labels, value });
  });
  return { types, samples };
}

const find = (samples: Sample[], name: string, labels: Record<string, string>) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

test('the exposition of a sample cluster parses strictly and carries every series', async (t) => {
  const view = ViewSnapshotSchema.parse(sampleView());
  const m = new ControllerMetrics();
  m.fromView(view);
  m.recordRun({ status: 'ok', label: 'intentional' });
  m.recordRun({ status: 'failed', label: 'corrective' });
  m.recordRun({ status: 'ok', label: 'intentional' });
  m.observeTask({ module: 'ipvs', status: 'ok', ms: 30 });
  m.observeTask({ module: 'ipvs', status: 'changed', ms: 700 });
  const { contentType, text } = await m.exposition();
  t.regex(contentType, /^text\/plain; version=0\.0\.4/);
  const { types, samples } = parseExposition(text);

  t.is(types.get('lvsctl_agents'), 'gauge');
  t.is(types.get('lvsctl_runs_total'), 'counter');
  t.is(types.get('lvsctl_task_duration_seconds'), 'histogram');
  const one = (name: string, labels: Record<string, string>) => {
    const s = find(samples, name, labels);
    t.is(s.length, 1, `${name} ${JSON.stringify(labels)}`);
    return s[0]?.value;
  };
  t.is(one('lvsctl_agents', { state: 'online' }), 3);
  t.is(one('lvsctl_agents', { state: 'offline' }), 1);
  t.is(one('lvsctl_agents', { state: 'revoked' }), 0);
  t.is(one('lvsctl_runs_total', { status: 'ok', label: 'intentional' }), 2);
  t.is(one('lvsctl_runs_total', { status: 'failed', label: 'corrective' }), 1);
  t.is(one('lvsctl_runs_total', { status: 'unreachable', label: 'corrective' }), 0, 'every outcome exists from the start');
  t.is(one('lvsctl_task_duration_seconds_count', { module: 'ipvs', status: 'changed' }), 1);
  t.is(one('lvsctl_task_duration_seconds_bucket', { module: 'ipvs', status: 'changed', le: '0.5' }), 0);
  t.is(one('lvsctl_task_duration_seconds_bucket', { module: 'ipvs', status: 'changed', le: '1' }), 1);
  t.is(one('lvsctl_drift_findings_open', { host: 'server4' }), 1);
  t.is(one('lvsctl_drift_findings_open', { host: 'server3' }), 0);
  const rs3 = { director: 'server2', service: 'tcp:172.25.7.200:80', realserver: '172.25.7.3:80' };
  const rs4 = { ...rs3, realserver: '172.25.7.4:80' };
  t.is(one('lvsctl_realserver_up', rs3), 0);
  t.is(one('lvsctl_realserver_up', rs4), 1);
  t.is(one('lvsctl_realserver_weight', { ...rs3, kind: 'declared' }), 3);
  t.is(one('lvsctl_realserver_weight', { ...rs3, kind: 'live' }), 0);
  t.is(one('lvsctl_ipvs_active_connections', rs4), 4);
  t.is(one('lvsctl_ipvs_inactive_connections', rs3), 7);
  t.is(one('lvsctl_ipvs_connection_rate', rs4), 12);
  t.is(one('lvsctl_ipvs_service_connection_rate', { director: 'server2', service: 'tcp:172.25.7.200:80' }), 12);
});

test('a real server that left, or lost its check, leaves no stale series; registries are not shared', async (t) => {
  const view = sampleView();
  const m = new ControllerMetrics();
  m.fromView(view);
  const svc = view.directors[0].services[0];
  svc.realServers = [{ ...svc.realServers[1], health: { state: 'unknown' } }];
  m.fromView(view);
  const { samples } = parseExposition((await m.exposition()).text);
  t.deepEqual(find(samples, 'lvsctl_realserver_weight', { realserver: '172.25.7.3:80' }), []);
  t.deepEqual(find(samples, 'lvsctl_realserver_up', {}), [], 'no check, no up series');
  t.is(find(samples, 'lvsctl_realserver_weight', { realserver: '172.25.7.4:80' }).length, 2);
  const other = parseExposition((await new ControllerMetrics().exposition()).text);
  t.deepEqual(find(other.samples, 'lvsctl_realserver_weight', {}), []);
});

test('label values are escaped as the format requires', async (t) => {
  const m = new ControllerMetrics();
  m.setOpenFindings({ 'we"ird\\host\nname': 2 });
  const { samples } = parseExposition((await m.exposition()).text);
  t.deepEqual(find(samples, 'lvsctl_drift_findings_open', {}).map((s) => [s.labels.host, s.value]), [['we"ird\\host\nname', 2]]);
});
