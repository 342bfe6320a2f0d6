import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ERRORS, EXIT } from '../../common/errors.js';
import { exec } from '../../common/exec.js';
import { FakeApi } from '../helpers/fake-api.js';
import { CTL } from '../helpers/procs.js';
import { sampleView } from '../helpers/view-sample.js';

/** `ctl drift` (held state), `ctl drift --history`, `ctl status` and the runs' label, against answers of the API's shape. */
const lab = mkdtempSync(path.join(os.tmpdir(), 'lvst-drift-cli-lab-'));
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
const finding = { host: 'server3', role: 'lvs-realserver-dr', task: 'VIP on lo:0', module: 'address', field: '172.25.7.200 on lo', before: null, after: '172.25.7.200/32 label lo:0', text: '172.25.7.200/32 missing on lo', firstSeen: ago(120_000), lastSeen: ago(1000) };
const hosts = [
  { host: 'server3', state: 'online', revision: 2, slots: ['httpd', 'lvs-realserver'], reportedAt: ago(1000) },
  { host: 'server4', state: 'offline', revision: 2, slots: ['httpd', 'lvs-realserver'], reportedAt: ago(600_000) },
  { host: 'server2', state: 'online', revision: 1, slots: ['lvs-director'], reportedAt: null },
];
let open: unknown = { findings: [finding], hosts };
const api = new FakeApi({
  'GET /api/findings': () => ({ json: open }),
  'GET /api/findings?host=server3': { json: { findings: [finding], hosts: hosts.slice(0, 1) } },
  'GET /api/findings/history?limit=200': { json: [{ ...finding, field: 'net.ipv4.conf.all.arp_ignore', text: 'net.ipv4.conf.all.arp_ignore is 0, want 1', resolvedAt: ago(30_000) }] },
  'GET /api/view': () => ({ json: sampleView(new Date()) }),
  'GET /api/status': {
    json: {
      directors: [
        {
          host: 'server2',
          at: Date.now(),
          drained: [],
          services: [
            {
              service: 'tcp:172.25.7.200:80',
              scheduler: 'wrr',
              cps: 12,
              quorum: { held: true, quorum: 1, hysteresis: 0, liveWeight: 1 },
              missing: false,
              realServers: [
                { realServer: '172.25.7.3:80', address: '172.25.7.3', declaredWeight: 3, weight: 0, liveWeight: 0, forwarding: 'dr', state: 'down', note: 'inhibited', drained: false, sorry: false, check: 'http', reason: 'HTTP 503', lastResult: 'HTTP 503', activeConn: 0, inActConn: 7, cps: 0 },
              ],
            },
          ],
        },
      ],
      drained: [],
    },
  },
  'GET /api/runs': {
    json: [
      { id: 'c1', title: 'corrective: 1 drift finding on server3', kind: 'tasks', origin: 'schedule', status: 'done', label: 'corrective', check: false, createdAt: ago(5000), finishedAt: ago(1000), hosts: 1, totals: { ok: 5, changed: 1, failed: 0, skipped: 0, unreachable: 0 } },
      { id: 'r1', title: 'playbook site.yml', kind: 'playbook', origin: 'operator', status: 'done', label: 'intentional', check: false, createdAt: ago(90_000), finishedAt: ago(60_000), hosts: 3, totals: { ok: 40, changed: 0, failed: 0, skipped: 1, unreachable: 0 } },
    ],
  },
});

function ctl(args: string[]) {
  return exec(process.execPath, [CTL, ...args, '--controller', api.url], { env: { ...process.env, NO_COLOR: '1', LVSCTL_LAB_DIR: lab, LVSCTL_URL: '', LVSCTL_TOKEN: 'tok', LVSCTL_CA: '' } });
}

test.before(() => api.start());
test.after.always(async () => {
  await api.stop();
  rmSync(lab, { recursive: true, force: true });
});

test.serial('ctl drift without a playbook lists the open findings of the held state, names silent hosts, and exits 6', async (t) => {
  open = { findings: [finding], hosts };
  const r = await ctl(['drift']);
  t.is(r.code, EXIT.drift, r.stderr);
  t.regex(r.stdout, /^HOST\s+TASK\s+FINDING\s+SINCE$/m);
  t.regex(r.stdout, /^server3\s+lvs-realserver-dr : VIP on lo:0\s+172\.25\.7\.200\/32 missing on lo\s+\d+ (s|min) ago$/m);
  t.regex(r.stdout, /^warning: server4 is offline: its findings are as last reported$/m);
  t.regex(r.stdout, /^warning: server2 has not reported a check of its held state \(revision 1\) yet$/m);
  t.regex(r.stdout, /^DRIFT on server3 \(1\)$/m);
  t.is(api.received.at(-1)!.authorization, 'Bearer tok');

  const one = await ctl(['drift', '--hosts', 'server3']);
  t.is(one.code, EXIT.drift);
  t.is(api.received.at(-1)!.url, '/api/findings?host=server3');

  open = { findings: [], hosts: hosts.slice(0, 1) };
  const clean = await ctl(['drift']);
  t.is(clean.code, EXIT.ok);
  t.regex(clean.stdout, /^no drift: 1 host is as held$/m);

  open = { findings: [], hosts: [] };
  const none = await ctl(['drift']);
  t.is(none.code, EXIT.ok);
  t.regex(none.stdout, /no desired state held yet/);
});

test.serial('ctl drift --history lists resolved findings; -i without a playbook is a usage error', async (t) => {
  const r = await ctl(['drift', '--history']);
  t.is(r.code, EXIT.ok, r.stderr);
  t.regex(r.stdout, /^server3\s+lvs-realserver-dr : VIP on lo:0\s+net\.ipv4\.conf\.all\.arp_ignore is 0, want 1\s+\S+ \S+ \.\. \S+\s+\d+ s ago$/m);
  const bad = await ctl(['drift', '-i', 'inventory/dr.yml']);
  t.is(bad.code, ERRORS.CTL_ERR_USAGE.exit);
  t.regex(bad.stderr, /^ERROR! -i: ctl drift without a playbook checks the desired state the controller holds; -i and -e need a playbook/m);
  const mixed = await ctl(['drift', 'site.yml', '--history']);
  t.is(mixed.code, ERRORS.CTL_ERR_USAGE.exit);
});

test.serial('ctl status shows agents with state, roles, drift and last run; directors with their real servers; open findings', async (t) => {
  const r = await ctl(['status']);
  t.is(r.code, EXIT.ok, r.stderr);
  const v = sampleView(new Date());
  t.regex(r.stdout, /^AGENTS\nHOST\s+STATE\s+HEARTBEAT\s+LOAD\s+ROLES\s+DRIFT\s+LAST RUN$/m);
  for (const a of v.agents) t.regex(r.stdout, new RegExp(`^${a.name}\\s+${a.state}\\s`, 'm'), a.name);
  t.regex(r.stdout, /^DIRECTORS\nserver2 /m);
  t.regex(r.stdout, /^ {2}TCP 172\.25\.7\.200:80 wrr {2}quorum 1 held \(live weight 1\) {2}12 conn\/s$/m);
  t.regex(r.stdout, /^ {4}172\.25\.7\.3:80\s+dr\s+3\s+0\s+inhibited\s+http\s+HTTP 503\s+0\s+7\s+0$/m);
  t.regex(r.stdout, /^OPEN DRIFT FINDINGS$/m);
  const withFindings = v.agents.filter((a) => a.findings.length);
  for (const a of withFindings) for (const f of a.findings) t.true(r.stdout.includes(f.text), f.text);
});

test.serial('ctl runs shows each run\'s label', async (t) => {
  const r = await ctl(['runs']);
  t.is(r.code, EXIT.ok, r.stderr);
  t.regex(r.stdout, /^ID\s+STARTED\s+STATE\s+LABEL\s+OK/m);
  t.regex(r.stdout, /^c1\s+\S+ \S+\s+done\s+corrective\s+5\s+1\s+0\s+0\s+corrective: 1 drift finding on server3$/m);
  t.regex(r.stdout, /^r1\s+\S+ \S+\s+done\s+intentional\s/m);
});
