import test from 'ava';
import type { StatusResponse } from '../../common/health-api.js';
import { HealthDirectors, viewDirector } from '../../controller/health-directors.js';
import { facts } from '../helpers/fake-ctx.js';

const status = (state: 'up' | 'down', live: number | null): StatusResponse => ({
  drained: [],
  directors: [
    {
      host: 'server2',
      at: Date.parse('2026-01-01T00:00:00Z'),
      drained: [],
      services: [
        {
          service: 'tcp:172.25.7.200:80',
          scheduler: 'rr',
          cps: 3,
          quorum: { held: true, quorum: 1, hysteresis: 0, liveWeight: 1 },
          sorryServer: { realServer: '127.0.0.1:80', in: false },
          missing: false,
          realServers: [
            { realServer: '172.25.7.3:80', address: '172.25.7.3', declaredWeight: 1, weight: state === 'up' ? 1 : 0, liveWeight: live, forwarding: 'dr', state, note: state === 'up' ? 'up' : 'inhibited', drained: false, sorry: false, check: 'http', ...(state === 'down' ? { reason: 'connect refused' } : {}), lastCheckAt: Date.parse('2026-01-01T00:00:01Z'), lastCheckMs: 4, since: Date.parse('2026-01-01T00:00:00Z'), activeConn: 1, inActConn: 2, cps: 3 },
            { realServer: '172.25.7.9:80', address: '172.25.7.9', declaredWeight: null, weight: null, liveWeight: 1, state: 'unknown', note: 'in the kernel, declared by no checked task', drained: false, sorry: false, check: null, activeConn: 0, inActConn: 0, cps: null },
          ],
        },
      ],
    },
  ],
});

test('a director of the health status as the view shows it: weights, health with its reason and times, counters, the host of an address', (t) => {
  const d = viewDirector(status('down', 0).directors[0], (a) => (a === '172.25.7.3' ? 'server3' : undefined));
  t.deepEqual(d, {
    host: 'server2',
    services: [
      {
        key: 'tcp:172.25.7.200:80',
        label: 'TCP 172.25.7.200:80',
        scheduler: 'rr',
        connRate: 3,
        sorry: false,
        realServers: [
          { address: '172.25.7.3:80', host: 'server3', forwarding: 'dr', weight: { declared: 1, live: 0 }, health: { state: 'down', reason: 'connect refused', lastCheck: '2026-01-01T00:00:01.000Z', checkMs: 4, since: '2026-01-01T00:00:00.000Z' }, drained: false, activeConn: 1, inactConn: 2, connRate: 3 },
          { address: '172.25.7.9:80', weight: { declared: 0, live: 1 }, health: { state: 'unknown' }, drained: false, activeConn: 0, inactConn: 0, connRate: null },
        ],
      },
    ],
  });
});

test('the directors are asked at most once per max age (and again after a health transition); a change is told', async (t) => {
  let now = 0;
  let asked = 0;
  let answer = status('up', 1);
  let told = 0;
  const dirs = new HealthDirectors(async () => (asked++, answer), () => ({ server3: facts({ interfaces: [{ name: 'eth0', ip4: '172.25.7.3', ip4subnet: '255.255.255.0', mac: '', operstate: 'up' }] }) }), { maxAgeMs: 5000, now: () => now, changed: () => told++ });
  t.deepEqual(dirs.directors(), [], 'nothing known yet; asking');
  await dirs.fresh();
  t.is(asked, 1);
  t.is(dirs.directors()[0].services[0].realServers[0].host, 'server3');
  t.is(told, 1);
  now = 4000;
  dirs.directors();
  await dirs.fresh();
  t.is(asked, 1, 'fresh enough');
  answer = status('down', 0);
  dirs.invalidate();
  await dirs.fresh();
  t.is(asked, 2);
  t.is(dirs.directors()[0].services[0].realServers[0].health.state, 'down');
  t.is(told, 2);
  now = 10_000;
  await dirs.fresh();
  t.is(asked, 3);
  t.is(told, 2, 'the same answer: nothing to tell');
});
