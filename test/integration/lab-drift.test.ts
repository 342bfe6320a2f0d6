import test, { type ExecutionContext } from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { HostFindingView, OpenFindings, RunSummary } from '../../common/api.js';
import { exec } from '../../common/exec.js';
import { labApi } from '../../lab/lab-api.js';
import { endTestLab, startTestLab, type TestLab } from '../helpers/lab.js';
import { CTL, REPO, waitFor } from '../helpers/procs.js';

/**
 * Drift in the real-kernel lab, on one boot, cases in order: the DR cluster converged holds
 * its desired state; an IPVS real server deleted, the VIP removed from a real server's lo and
 * arp_ignore set back to 0 each appear as a finding with its exact field and resolve when put
 * back by hand; the live view in headless Chromium follows the cluster (agents, a finding, an
 * agent that hangs and goes away); then with policy fix each change is repaired by a
 * corrective run and the VIP balances again. Waits are bounded polls; nothing here is timed.
 * LVSCTL_LAB_VIEW_SCREENSHOT=FILE saves the view of the lab's cluster there (docs/health-view.png).
 */
const CHROMIUM = '/usr/bin/chromium';
const VIP = '172.25.7.200';
const INV = ['-i', 'inventory/dr.yml', '-i', 'inventory/lab.yml'];
/** Generous: under emulation a check of a host's whole held state takes seconds. */
const FINDING_WAIT = 180_000;

let lab: TestLab | undefined;
let bootError: unknown;
let browser: Browser | undefined;

test.before(async (t) => {
  try {
    lab = await startTestLab({ mode: 'dr', log: (m) => t.log(m) });
  } catch (e) {
    bootError = e;
  }
  if (existsSync(CHROMIUM)) browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'] });
});

test.after.always(async () => {
  await browser?.close();
  await endTestLab();
});

function theLab(): TestLab {
  if (!lab) throw new Error(`the lab did not come up: ${(bootError as Error)?.message ?? bootError}`);
  return lab;
}

function ctl(args: string[]) {
  const l = theLab();
  // ctl finds the lab's URL, token and CA in the lab folder, as an operator's ctl does.
  return exec(process.execPath, [CTL, ...args], { cwd: REPO, env: { ...process.env, NO_COLOR: '1', LVSCTL_LAB_DIR: l.paths.dir, LVSCTL_URL: '', LVSCTL_TOKEN: '', LVSCTL_CA: '' }, timeoutMs: 600_000 });
}

async function api<T>(p: string): Promise<T> {
  const l = theLab();
  const r = await labApi(Number(new URL(l.url).port), l.token, readFileSync(l.up.caFile, 'utf8'), 'GET', p, undefined, 30_000);
  if (r.status !== 200) throw new Error(`${p}: HTTP ${r.status}`);
  return r.json as T;
}

const openOn = async (host: string) => (await api<OpenFindings>(`/api/findings?host=${host}`)).findings;

async function findingAppears(host: string, field: string): Promise<HostFindingView> {
  return waitFor(`finding '${field}' on ${host}`, async () => (await openOn(host)).find((f) => f.field === field), FINDING_WAIT, 500);
}

async function noFindings(host: string, what: string): Promise<void> {
  await waitFor(`${host} clean (${what})`, async () => ((await openOn(host)).length ? undefined : true), FINDING_WAIT, 500);
}

async function curlAlternates(t: ExecutionContext, what: string): Promise<void> {
  const seen: string[] = [];
  for (let i = 0; i < 6; i++) seen.push((await theLab().run('client', ['curl', '-s', '-m', '10', `http://${VIP}/`])).stdout.trim());
  t.log(`${what}: ${seen.join(' ')}`);
  t.deepEqual([...new Set(seen)].sort(), ['server3-hk', 'server4-hk'], `${what}: both real servers answer`);
  for (let i = 1; i < seen.length; i++) t.not(seen[i], seen[i - 1], `${what}: request ${i + 1} went to the other real server`);
}

/** The three changes of the issue: each on its host, with its exact finding, and how to put it back by hand. */
const CHANGES = [
  {
    name: 'an IPVS real server deleted',
    host: 'server2',
    make: ['ipvsadm', '-d', '-t', `${VIP}:80`, '-r', '172.25.7.4:80'],
    undo: ['ipvsadm', '-a', '-t', `${VIP}:80`, '-r', '172.25.7.4:80', '-g', '-w', '1'],
    holds: { argv: ['ipvsadm', '-Sn'], want: new RegExp(`^-a -t ${VIP}:80 -r 172\\.25\\.7\\.4:80 -g -w 1$`, 'm') },
    finding: { role: 'lvs-director-dr', module: 'ipvs', field: `real server 172.25.7.4:80 of tcp:${VIP}:80`, before: null, after: 'Route weight 1', text: `real server 172.25.7.4:80 missing from TCP ${VIP}:80` },
  },
  {
    name: 'the VIP removed from a real server\'s lo',
    host: 'server3',
    make: ['ip', 'addr', 'del', `${VIP}/32`, 'dev', 'lo'],
    undo: ['ip', 'addr', 'add', `${VIP}/32`, 'dev', 'lo', 'label', 'lo:0'],
    holds: { argv: ['ip', '-o', 'addr', 'show', 'dev', 'lo'], want: /inet 172\.25\.7\.200\/32 scope \w+ lo:0/ },
    finding: { role: 'lvs-realserver-dr', module: 'address', field: `${VIP} on lo`, before: null, after: `${VIP}/32 label lo:0`, text: `${VIP}/32 missing on lo` },
  },
  {
    name: 'arp_ignore set back to 0',
    host: 'server4',
    make: ['sysctl', '-q', '-w', 'net.ipv4.conf.all.arp_ignore=0'],
    undo: ['sysctl', '-q', '-w', 'net.ipv4.conf.all.arp_ignore=1'],
    holds: { argv: ['sysctl', '-n', 'net.ipv4.conf.all.arp_ignore'], want: /^1$/m },
    finding: { role: 'lvs-realserver-dr', module: 'sysctl', field: 'net.ipv4.conf.all.arp_ignore', before: '0', after: '1', text: 'net.ipv4.conf.all.arp_ignore is 0, want 1' },
  },
] as const;

test.serial('the DR cluster converged: each host holds its desired state, its watch reports it, and nothing drifted', async (t) => {
  const run = await ctl(['run', 'playbook', 'site.yml', ...INV]);
  t.is(run.code, 0, run.stdout + run.stderr);
  await curlAlternates(t, 'converged');
  const watched = await waitFor('every host reporting its held state', async () => {
    const r = await api<OpenFindings>('/api/findings');
    return ['server2', 'server3', 'server4'].every((h) => r.hosts.find((x) => x.host === h)?.reportedAt) ? r : undefined;
  }, FINDING_WAIT, 1000);
  t.deepEqual(watched.hosts.map((h) => [h.host, h.slots]), [
    ['server2', ['rhel-repos', 'firewall-off', 'lvs-director']],
    ['server3', ['rhel-repos', 'firewall-off', 'httpd', 'lvs-realserver']],
    ['server4', ['rhel-repos', 'firewall-off', 'httpd', 'lvs-realserver']],
  ]);
  t.deepEqual(watched.findings, [], JSON.stringify(watched.findings));
  const drift = await ctl(['drift']);
  t.is(drift.code, 0, drift.stdout + drift.stderr);
  t.regex(drift.stdout, /no drift: 3 hosts are as held/);
});

test.serial('policy report: each change by hand is a finding with its exact field, and resolves when put back by hand', async (t) => {
  const l = theLab();
  for (const c of CHANGES) {
    await l.run(c.host, [...c.make]);
    const f = await findingAppears(c.host, c.finding.field);
    t.like(f, { host: c.host, ...c.finding }, c.name);
    const drift = await ctl(['drift']);
    t.is(drift.code, 6, `${c.name}: ctl drift exits 6`);
    t.regex(drift.stdout, new RegExp(`^${c.host}\\s.*${c.finding.text.replace(/[.*]/g, '\\$&')}`, 'm'));
    await l.run(c.host, [...c.undo]);
    await noFindings(c.host, `${c.name}, put back`);
    const history = await api<HostFindingView[]>(`/api/findings/history?host=${c.host}`);
    t.truthy(history.find((h) => h.field === c.finding.field && h.resolvedAt), `${c.name}: resolved into the history`);
  }
  const drift = await ctl(['drift', '--history']);
  t.is(drift.code, 0);
  for (const c of CHANGES) t.true(drift.stdout.includes(c.finding.text), c.finding.text);
  await curlAlternates(t, 'all put back by hand');
});

async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url + '/');
  await page.locator('#login').waitFor({ state: 'visible' });
  await page.fill('#token', token);
  await page.click('#login button[type=submit]');
  await page.locator('#status', { hasText: 'live' }).waitFor();
}

test.serial('the live view in Chromium: the lab\'s agents, a finding that appears and resolves, an agent that hangs turns unresponsive then offline, without a reload', async (t) => {
  if (!browser) throw new Error(`${CHROMIUM} is not installed (apt-get install chromium)`);
  const l = theLab();
  // The lab's controller speaks TLS with the lab's own CA, which this Chromium does not know.
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, ignoreHTTPSErrors: true });
  t.teardown(() => context.close());
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await signIn(page, l.url, l.token);
  t.false(page.url().includes(l.token));
  const hosts = async () => page.locator('table.agents th.host').evaluateAll((ths) => ths.map((th) => th.firstChild?.textContent));
  await waitFor('the four agents', async () => ((await hosts()).length === 4 ? true : undefined), 30_000, 200);
  t.deepEqual((await hosts()).sort(), ['client', 'server2', 'server3', 'server4']);
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
  const row = (host: string) => page.locator('table.agents tr', { has: page.locator('th.host', { hasText: host }) });
  const state = (host: string) => row(host).locator('td').first();
  for (const h of ['server2', 'server3', 'server4', 'client']) t.is(await state(h).innerText(), 'online', h);
  // The director with its real servers, as its agent reports the table.
  await page.locator('table.rs tr', { has: page.locator('th.host', { hasText: '172.25.7.3:80' }) }).waitFor({ timeout: 60_000 });

  // A finding appears on the page and resolves (traffic first, so the director's counters move).
  await curlAlternates(t, 'traffic for the view');
  const c = CHANGES[1];
  await l.run(c.host, [...c.make]);
  await row(c.host).locator('ul.findings li', { hasText: c.finding.text }).waitFor({ timeout: FINDING_WAIT });
  const shot = process.env.LVSCTL_LAB_VIEW_SCREENSHOT;
  if (shot) await page.screenshot({ path: shot });
  await l.run(c.host, [...c.undo]);
  await row(c.host).locator('ul.findings').waitFor({ state: 'detached', timeout: FINDING_WAIT });

  // A real server stopped: the director's checker takes it out, and the page says why.
  const rs3 = page.locator('table.rs tr', { has: page.locator('th.host', { hasText: '172.25.7.3:80' }) });
  await l.run('server3', ['/run/lab/roots/server3/etc/init.d/httpd', 'stop']);
  try {
    await rs3.locator('td .badge', { hasText: 'down' }).waitFor({ timeout: 60_000 });
    t.true(await rs3.evaluate((tr) => tr.classList.contains('state-down')));
    t.regex(await rs3.locator('td').nth(2).innerText(), /^down\n\S.*/, 'down with its reason');
    // Inhibited: live weight 0 of 1 (the kernel's weight may follow the health state by one snapshot).
    await rs3.locator('td').nth(1).filter({ hasText: /^0 \/ 1$/ }).waitFor({ timeout: 60_000 });
  } finally {
    await l.run('server3', ['/run/lab/roots/server3/etc/init.d/httpd', 'start']);
  }
  await rs3.locator('td .badge', { hasText: 'up' }).waitFor({ timeout: 60_000 });

  // server4's agent hangs (SIGSTOP): its connection stays, heartbeats stop: unresponsive; then the
  // controller's ping timeout closes the connection: offline. Killed, the lab restarts it.
  const pid = (await l.run('guest', ['pgrep', '-f', 'dist/agent/main.js .*--name server4 '])).stdout.trim().split('\n')[0];
  t.regex(pid, /^\d+$/);
  await l.run('guest', ['kill', '-STOP', pid]);
  try {
    await state('server4').filter({ hasText: 'unresponsive' }).waitFor({ timeout: 120_000 });
    await state('server4').filter({ hasText: 'offline' }).waitFor({ timeout: 180_000 });
  } finally {
    await l.exec('guest', ['kill', '-KILL', pid]);
  }
  t.is(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 42, 'the same document: no reload');
  await state('server4').filter({ hasText: 'online' }).waitFor({ timeout: 300_000 });
  t.true(await page.locator('ol.events li', { hasText: 'agent disconnected' }).first().isVisible());
  t.deepEqual(errors, []);
});

test.serial('policy fix: each change is repaired by a corrective run, and six curl VIP alternate again', async (t) => {
  const l = theLab();
  const run = await ctl(['run', 'playbook', 'site.yml', ...INV, '-e', 'lvs_drift_policy=fix']);
  t.is(run.code, 0, run.stdout + run.stderr);
  for (const c of CHANGES) {
    const before = new Set((await api<RunSummary[]>('/api/runs')).map((r) => r.id));
    await l.run(c.host, [...c.make]);
    const fixed = await waitFor(`${c.name}: a corrective run that ended`, async () => {
      const r = (await api<RunSummary[]>('/api/runs')).find((x) => !before.has(x.id) && x.label === 'corrective' && x.title.endsWith(` on ${c.host}`));
      return r?.status === 'done' ? r : undefined;
    }, FINDING_WAIT, 1000);
    t.like(fixed, { label: 'corrective', check: false });
    t.is(fixed.totals.failed + fixed.totals.unreachable, 0, JSON.stringify(fixed.totals));
    t.true(fixed.totals.changed >= 1, `${c.name}: the corrective run changed it back`);
    await noFindings(c.host, `${c.name}, repaired`);
    t.regex((await l.run(c.host, [...c.holds.argv])).stdout, c.holds.want, `${c.name}: repaired on the host`);
    await curlAlternates(t, `${c.name}, repaired`);
  }
  const runs = await ctl(['runs']);
  t.regex(runs.stdout, /^\S+\s+\S+ \S+\s+done\s+corrective\s/m, '`ctl runs` shows the label');
  t.regex(runs.stdout, /^\S+\s+\S+ \S+\s+done\s+intentional\s/m);
});
