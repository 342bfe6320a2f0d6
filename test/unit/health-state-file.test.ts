import test from 'ava';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { healthStatePath, loadHealthState, saveHealthState, type HealthStateFile } from '../../agent/health/state-file.js';
import { checkSchema } from '../../agent/health/schema.js';

const state = (): HealthStateFile => ({
  version: 1,
  savedAt: 1_700_000_000_000,
  sources: {
    ipvs: {
      services: [
        {
          service: {
            protocol: 'tcp',
            address: '172.25.7.200',
            port: 80,
            scheduler: 'wrr',
            realServers: [{ address: '172.25.7.3', port: 80, forwarding: 'dr', weight: 3 }],
          },
          quorum: 1,
          hysteresis: 0,
          sorryServer: { address: '172.25.7.250', port: 80, forwarding: 'dr', weight: 1 },
          checks: { '172.25.7.3:80': checkSchema.parse({ type: 'http', status: [200, '301-302'], expect: 'ok' }) },
        },
      ],
    },
  },
  drained: ['172.25.7.4'],
  probes: { 'tcp:172.25.7.200:80 172.25.7.3:80': { state: 'down', reason: 'HTTP 503', since: 1, downTransitions: 2 } },
  quorumLost: ['tcp:172.25.7.200:80'],
});

async function tmp(t: { teardown: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lvst-health-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('saved and loaded back whole; readable by root only; no temporary file left', async (t) => {
  const dir = path.join(await tmp(t), 'state');
  await saveHealthState(dir, state());
  t.deepEqual(await loadHealthState(dir), state());
  t.is((await stat(healthStatePath(dir))).mode & 0o777, 0o600);
  t.is((await stat(dir)).mode & 0o777, 0o700);
  await saveHealthState(dir, { ...state(), drained: [] });
  t.deepEqual((await loadHealthState(dir))?.drained, []);
  t.deepEqual(await readdir(dir), ['health.json']);
});

test('no file: null', async (t) => {
  t.is(await loadHealthState(await tmp(t)), null);
});

test('a file that is not a valid state is an error naming the file and the field, never a silent reset', async (t) => {
  const dir = await tmp(t);
  const file = healthStatePath(dir);
  const cases: [string, RegExp][] = [
    ['{"version": 1, "savedAt"', /health\.json: not JSON/],
    ['null', /health\.json: \(top\): /],
    [JSON.stringify({ ...state(), version: 2 }), /health\.json: version: version must be 1$/],
    [JSON.stringify({ ...state(), drained: ['server3'] }), /health\.json: drained\.0: must be an IPv4 address/],
  ];
  const badCheck = state();
  (badCheck.sources.ipvs.services[0].checks['172.25.7.3:80'] as { type: string }).type = 'ping';
  cases.push([JSON.stringify(badCheck), /health\.json: sources\.ipvs\.services\.0\.checks\.172\.25\.7\.3:80\.type: type must be one of/]);
  for (const [text, error] of cases) {
    await writeFile(file, text);
    await t.throwsAsync(loadHealthState(dir), { message: error }, text.slice(0, 40));
    t.is(await readFile(file, 'utf8'), text, 'the bad file is left as it was');
  }
});
