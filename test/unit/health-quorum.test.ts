import test from 'ava';
import { liveWeight, quorumHeld, stepQuorum } from '../../agent/health/quorum.js';
import type { ServiceHealth } from '../../agent/health/config.js';
import { checkSchema } from '../../agent/health/schema.js';

const SVC = 'tcp:172.25.7.200:80';
const http = checkSchema.parse({ type: 'http' });

function service(over: Partial<ServiceHealth> = {}, weights: number[] = [1, 1, 1]): ServiceHealth {
  const realServers = weights.map((weight, i) => ({ address: `172.25.7.${i + 3}`, port: 80, forwarding: 'dr' as const, weight }));
  return {
    service: { protocol: 'tcp', address: '172.25.7.200', port: 80, scheduler: 'wrr', realServers },
    quorum: 1,
    hysteresis: 0,
    checks: Object.fromEntries(realServers.map((r) => [`${r.address}:80`, http])),
    ...over,
  };
}

test('live weight: declared weights of the servers that are up and not drained; an unchecked server counts as up', (t) => {
  const s = service({}, [3, 1, 2]);
  t.is(liveWeight(s, {}, new Set()), 6);
  t.is(liveWeight(s, { [`${SVC} 172.25.7.3:80`]: { state: 'down', reason: 'HTTP 503' } }, new Set()), 3);
  t.is(liveWeight(s, { [`${SVC} 172.25.7.3:80`]: { state: 'down' } }, new Set(['172.25.7.5'])), 1);
});

test("quorum follows keepalived: lost below quorum - hysteresis or at 0, regained at quorum + hysteresis", (t) => {
  const q = { quorum: 3, hysteresis: 1 };
  t.true(quorumHeld(true, 3, q));
  t.true(quorumHeld(true, 2, q), 'within the hysteresis band it stays held');
  t.false(quorumHeld(true, 1, q));
  t.false(quorumHeld(false, 3, q), 'within the band it stays lost');
  t.true(quorumHeld(false, 4, q));
  t.false(quorumHeld(true, 0, { quorum: 1, hysteresis: 5 }), 'no live weight at all is always lost');
  t.false(quorumHeld(false, 5, { quorum: 1, hysteresis: 5 }));
  t.true(quorumHeld(false, 6, { quorum: 1, hysteresis: 5 }));
  t.true(quorumHeld(true, 1, { quorum: 1, hysteresis: 0 }));
  t.false(quorumHeld(true, 0, { quorum: 1, hysteresis: 0 }));
});

test('hysteresis: a flapping server does not flap the service', (t) => {
  const run = (hysteresis: number) => {
    const s = service({ quorum: 2, hysteresis });
    let held = true;
    const reasons: string[] = [];
    // one server of three (weight 1 each) flaps: live weight 2, 1, 2, 1 ...; all die once; then all come back
    for (const live of [2, 1, 2, 1, 2, 1, 0, 1, 2, 1, 2, 3]) {
      const step = stepQuorum(s, held, live, 0);
      held = step.held;
      reasons.push(...step.transitions.map((x) => x.reason));
    }
    return reasons;
  };
  const flap = ['quorum lost', 'quorum regained'];
  t.deepEqual(run(0), [...flap, ...flap, ...flap, ...flap]);
  t.deepEqual(run(1), flap, 'lost only below 1 (at 0), regained only at 3');
});

test('quorum transitions carry the numbers; the sorry server goes in with "quorum lost" and out with "quorum regained"', (t) => {
  const s = service({ sorryServer: { address: '172.25.7.250', port: 80, forwarding: 'dr', weight: 1 } });
  const lost = stepQuorum(s, true, 0, 1000);
  t.false(lost.held);
  t.deepEqual(lost.transitions, [
    { kind: 'quorum', service: SVC, from: 'held', to: 'lost', reason: 'quorum lost', at: 1000, liveWeight: 0, quorum: 1, hysteresis: 0 },
    { kind: 'sorry', service: SVC, realServer: '172.25.7.250:80', from: 'out', to: 'in', reason: 'sorry server in', at: 1000 },
  ]);
  const back = stepQuorum(s, false, 1, 2000);
  t.true(back.held);
  t.deepEqual(back.transitions.map((x) => x.reason), ['quorum regained', 'sorry server out']);
  t.deepEqual(stepQuorum(s, true, 1, 3000), { held: true, transitions: [] });
  t.deepEqual(stepQuorum(service(), true, 0, 0).transitions.map((x) => x.reason), ['quorum lost'], 'no sorry server declared: no sorry transition');
});
