import test from 'ava';
import { adjust, changedRealServers, declaredWeights, drainTransitions, weightsOf, type HealthView } from '../../agent/health/adjust.js';
import { healthConfig, type HealthArgs } from '../../agent/health/config.js';
import { parseSave } from '../../agent/ipvs/parse-save.js';
import { reconcile, changeLine } from '../../agent/ipvs/plan.js';

/** A DR service as the lvs-director role declares it, server3 at weight 3, with an http check. */
function args(over: { check?: object; rs3?: object; service?: object } = {}): HealthArgs {
  const rs = (n: number, weight: number, more: object = {}) => ({ address: `172.25.7.${n}`, forwarding: 'dr', weight, ...more });
  return {
    services: [
      {
        protocol: 'tcp',
        address: '172.25.7.200',
        port: 80,
        scheduler: 'wrr',
        quorum: 1,
        hysteresis: 0,
        healthcheck: { type: 'http', path: '/', status: '200-399', interval: 2, timeout: 1, fall: 2, rise: 2, on_failure: 'inhibit', alpha: false, ...over.check },
        realServers: [rs(3, 3, over.rs3), rs(4, 1)],
        ...over.service,
      },
    ],
  } as unknown as HealthArgs;
}

const SVC = 'tcp:172.25.7.200:80';
const R3 = `${SVC} 172.25.7.3:80`;
const view = (v: Partial<HealthView> = {}): HealthView => ({ states: {}, quorumLost: new Set(), drained: new Set(), ...v });
const weights = (a: ReturnType<typeof adjust>) => a.services[0].realServers.map((r) => `${r.address}:${r.port}=${r.weight}`);

test('all up: the declared table, unchanged', (t) => {
  const cfg = healthConfig(args());
  const a = adjust(cfg, view());
  t.deepEqual(a.services, cfg.services.map((s) => s.service));
  t.deepEqual(a.notes.map((n) => n.note), ['up', 'up']);
});

test('inhibit (the default): a down server keeps its place at weight 0, noted with its reason', (t) => {
  const a = adjust(healthConfig(args()), view({ states: { [R3]: { state: 'down', reason: 'HTTP 503' } } }));
  t.deepEqual(weights(a), ['172.25.7.3:80=0', '172.25.7.4:80=1']);
  t.like(a.notes[0], { realServer: '172.25.7.3:80', declaredWeight: 3, weight: 0, state: 'down', note: 'down (HTTP 503)' });
});

test('on_failure remove: a down server leaves the table', (t) => {
  const a = adjust(healthConfig(args({ check: { on_failure: 'remove' } })), view({ states: { [R3]: { state: 'down', reason: 'connect refused' } } }));
  t.deepEqual(weights(a), ['172.25.7.4:80=1']);
  t.like(a.notes[0], { weight: null, note: 'down (connect refused)' });
});

test('drain: weight 0 whatever the health; a drained server that is also down says both', (t) => {
  const drained = new Set(['172.25.7.3']);
  const a = adjust(healthConfig(args()), view({ drained }));
  t.deepEqual(weights(a), ['172.25.7.3:80=0', '172.25.7.4:80=1']);
  t.like(a.notes[0], { drained: true, note: 'drained' });
  const b = adjust(healthConfig(args()), view({ drained, states: { [R3]: { state: 'down', reason: 'HTTP 503' } } }));
  t.like(b.notes[0], { weight: 0, note: 'down (HTTP 503), drained' });
  const c = adjust(healthConfig(args({ check: { on_failure: 'remove' } })), view({ drained }));
  t.like(c.notes[0], { weight: 0, note: 'drained' }, 'a drained server stays in at weight 0 even under remove: its connections finish');
});

test('quorum lost with a sorry server: it comes in at weight 1 and the servers still up go out', (t) => {
  const cfg = healthConfig(args({ service: { quorum: 4, sorry_server: '172.25.7.250' } }));
  const a = adjust(cfg, view({ quorumLost: new Set([SVC]), states: { [R3]: { state: 'down', reason: 'HTTP 503' } } }));
  t.deepEqual(weights(a), ['172.25.7.3:80=0', '172.25.7.4:80=0', '172.25.7.250:80=1']);
  t.deepEqual(a.notes.map((n) => n.note), ['down (HTTP 503)', 'up, out while the sorry server is in', 'sorry server (quorum lost)']);
  t.like(a.notes[2], { sorry: true, weight: 1, realServer: '172.25.7.250:80' });
  t.is(a.services[0].realServers[2].forwarding, 'dr');
});

test('quorum lost without a sorry server changes nothing beyond the down servers (keepalived)', (t) => {
  const a = adjust(healthConfig(args({ service: { quorum: 4 } })), view({ quorumLost: new Set([SVC]), states: { [R3]: { state: 'down', reason: 'HTTP 503' } } }));
  t.deepEqual(weights(a), ['172.25.7.3:80=0', '172.25.7.4:80=1']);
});

test('type none: no health state applies, the server is always in at its weight', (t) => {
  const a = adjust(healthConfig(args({ rs3: { healthcheck: { type: 'none' } } })), view({ states: { [R3]: { state: 'down', reason: 'stale' } } }));
  t.deepEqual(weights(a), ['172.25.7.3:80=3', '172.25.7.4:80=1']);
  t.is(a.notes[0].note, 'up (no check)');
});

test('adjust is pure: the declaration is not modified', (t) => {
  const cfg = healthConfig(args({ service: { sorry_server: '172.25.7.250' } }));
  const before = JSON.stringify(cfg);
  adjust(cfg, view({ quorumLost: new Set([SVC]), drained: new Set(['172.25.7.4']), states: { [R3]: { state: 'down', reason: 'x' } } }));
  t.is(JSON.stringify(cfg), before);
});

test('planned by the ipvs module: a health weight is not "repaired", a server deleted by hand is restored (at weight 0)', (t) => {
  const a = adjust(healthConfig(args()), view({ states: { [R3]: { state: 'down', reason: 'HTTP 503' } } }));
  const inhibited = parseSave('-A -t 172.25.7.200:80 -s wrr\n-a -t 172.25.7.200:80 -r 172.25.7.3:80 -g -w 0\n-a -t 172.25.7.200:80 -r 172.25.7.4:80 -g -w 1\n');
  t.deepEqual(reconcile(a.services, inhibited, 'report').changes, [], 'the inhibited weight is what is desired');
  const deleted = parseSave('-A -t 172.25.7.200:80 -s wrr\n-a -t 172.25.7.200:80 -r 172.25.7.4:80 -g -w 1\n');
  t.deepEqual(reconcile(a.services, deleted, 'report').changes.map(changeLine), ['-a -t 172.25.7.200:80 -r 172.25.7.3:80 -g -w 0']);
  const declared = healthConfig(args()).services.map((s) => s.service);
  t.deepEqual(reconcile(declared, inhibited, 'report').changes.map(changeLine), ['-e -t 172.25.7.200:80 -r 172.25.7.3:80 -g -w 3'], 'against the bare declaration it would be');
});

test('changedRealServers: weight moves, servers leaving and coming back, the sorry server', (t) => {
  const cfg = healthConfig(args({ check: { on_failure: 'remove' }, service: { sorry_server: '172.25.7.250' } }));
  const declared = declaredWeights(cfg);
  t.deepEqual(changedRealServers(declared, adjust(cfg, view())), []);
  const down = adjust(cfg, view({ states: { [R3]: { state: 'down', reason: 'x' } } }));
  t.deepEqual(changedRealServers(declared, down), [{ service: SVC, realServer: '172.25.7.3:80', from: 3, to: null }]);
  const sorry = adjust(cfg, view({ quorumLost: new Set([SVC]), states: { [R3]: { state: 'down', reason: 'x' } } }));
  t.deepEqual(changedRealServers(weightsOf(down), sorry), [
    { service: SVC, realServer: '172.25.7.4:80', from: 1, to: null },
    { service: SVC, realServer: '172.25.7.250:80', from: null, to: 1 },
  ]);
  t.deepEqual(changedRealServers(weightsOf(sorry), adjust(cfg, view())), [
    { service: SVC, realServer: '172.25.7.3:80', from: null, to: 3 },
    { service: SVC, realServer: '172.25.7.4:80', from: null, to: 1 },
    { service: SVC, realServer: '172.25.7.250:80', from: 1, to: null },
  ]);
});

test('drainTransitions: one per real server of a drained or undrained address', (t) => {
  const cfg = healthConfig(args());
  t.deepEqual(drainTransitions(cfg, new Set(), new Set(['172.25.7.3', '10.0.0.1']), 5), [
    { kind: 'drain', service: SVC, realServer: '172.25.7.3:80', from: 'serving', to: 'drained', reason: 'drained', at: 5 },
  ]);
  t.deepEqual(drainTransitions(cfg, new Set(['172.25.7.3']), new Set(), 6).map((x) => x.reason), ['undrained']);
  t.deepEqual(drainTransitions(cfg, new Set(['172.25.7.3']), new Set(['172.25.7.3']), 7), []);
});
