import test from 'ava';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { ViewSnapshot } from '../../common/view.js';
import { sampleView } from '../helpers/view-sample.js';
import { viewServer } from '../helpers/view-server.js';

/**
 * The health view in a real headless Chromium (Debian's package) against the real page routes
 * and a socket.io server on 127.0.0.1 that pushes snapshots. LVSCTL_VIEW_SCREENSHOT=FILE also
 * saves a screenshot of the sample cluster there (docs/health-view-sample.png).
 */
const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'view-test-token-4f1c';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

let browser: Browser | undefined;
test.before(async () => {
  if (existsSync(CHROMIUM)) browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
});
test.after.always(async () => {
  await browser?.close();
});

async function open(t: import('ava').ExecutionContext, view: ViewSnapshot = sampleView(new Date())) {
  if (!browser) throw new Error(`${CHROMIUM} is not installed (apt-get install chromium)`);
  const server = await viewServer(TOKEN, view);
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('response', (r) => r.status() === 404 && errors.push(`404 ${r.url()}`));
  page.on('console', (m) => m.type() === 'error' && !/401/.test(m.text()) && errors.push(m.text()));
  t.teardown(async () => {
    await context.close();
    await server.close();
  });
  await page.goto(server.url + '/');
  return { server, page, errors };
}

async function signIn(page: Page, token = TOKEN): Promise<void> {
  await page.locator('#login').waitFor({ state: 'visible' });
  await page.fill('#token', token);
  await page.click('#login button[type=submit]');
}

const stateOf = (page: Page, host: string) => page.locator('table.agents tr', { has: page.locator('th.host', { hasText: host }) }).locator('td').first();

test.serial('without a session the page asks to sign in; a wrong token is refused; the right one shows the agents', async (t) => {
  const { page, errors } = await open(t);
  await signIn(page, 'wrong');
  await page.locator('#login-error', { hasText: 'wrong token' }).waitFor();
  t.true(await page.locator('#main').isHidden());
  await signIn(page);
  await page.locator('table.agents').waitFor();
  t.deepEqual(await page.locator('table.agents th.host').evaluateAll((ths) => ths.map((th) => th.firstChild?.textContent)), ['server2', 'server3', 'server4', 'client']);
  t.is(await stateOf(page, 'client').innerText(), 'offline');
  t.regex(await page.locator('#summary').innerText(), /3\/4 agents online/);
  await page.locator('#status', { hasText: 'live' }).waitFor();
  t.false(page.url().includes(TOKEN), 'no token in the URL');
  t.is(await page.evaluate(() => document.cookie), '', 'the session cookie is HttpOnly');
  t.deepEqual(errors, []);
});

test.serial('pushed snapshots change the page without a reload: unresponsive, offline, a finding that appears and resolves', async (t) => {
  const { server, page, errors } = await open(t);
  await signIn(page);
  await page.locator('#status', { hasText: 'live' }).waitFor();
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
  const view = sampleView(new Date());
  const server3 = view.agents[1];

  server.push({ ...view, agents: view.agents.map((a) => (a === server3 ? { ...a, state: 'unresponsive', heartbeatAgeMs: 16_000 } : a)) });
  await stateOf(page, 'server3').filter({ hasText: 'unresponsive' }).waitFor();
  server.push({ ...view, agents: view.agents.map((a) => (a === server3 ? { ...a, state: 'offline', heartbeatAgeMs: 95_000 } : a)) });
  await stateOf(page, 'server3').filter({ hasText: 'offline' }).waitFor();

  const finding = { role: 'lvs-realserver-dr', task: 'VIP on lo:0', field: '172.25.7.200 on lo', before: null, after: '172.25.7.200/32', text: '172.25.7.200/32 missing on lo', firstSeen: new Date().toISOString() };
  server.push({ ...view, agents: view.agents.map((a) => (a === server3 ? { ...a, findings: [finding] } : a)) });
  const row3 = page.locator('table.agents tr', { has: page.locator('th.host', { hasText: 'server3' }) });
  await row3.locator('ul.findings li', { hasText: '172.25.7.200/32 missing on lo' }).waitFor();
  server.push(view);
  await row3.locator('ul.findings').waitFor({ state: 'detached' });
  t.is(await stateOf(page, 'server3').innerText(), 'online');

  t.is(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 42, 'the same document: no reload');
  t.deepEqual(errors, []);
});

test.serial('directors show each real server like a stats page: weights, health with its reason, counters', async (t) => {
  const { page } = await open(t);
  await signIn(page);
  const rs3 = page.locator('table.rs tr', { has: page.locator('th.host', { hasText: '172.25.7.3:80' }) });
  await rs3.waitFor();
  const cells = await rs3.locator('td').allInnerTexts();
  t.deepEqual([cells[0], cells[1], cells[2].split('\n')[0], cells[2].split('\n')[1], cells[4], cells[5], cells[6]], ['dr', '0 / 3', 'down', 'HTTP 503', '0', '7', '0']);
  t.true(await rs3.evaluate((tr) => tr.classList.contains('state-down')));
  t.regex(await page.locator('.service h4').innerText(), /TCP 172\.25\.7\.200:80 wrr · 1\/2 serving · 12 conn\/s/);
  t.is(await page.locator('ol.events li').count(), 7);
  const shot = process.env.LVSCTL_VIEW_SCREENSHOT;
  if (shot) await page.screenshot({ path: shot, fullPage: true });
});

test.serial('data containing markup is shown as text and never runs', async (t) => {
  const view = sampleView(new Date());
  const evil = '<img src=x onerror="window.pwned=1">';
  view.agents[0] = { ...view.agents[0], name: evil, roles: ['<b>bold</b>'] };
  view.events.unshift({ at: new Date().toISOString(), kind: 'refusal', host: '<script>window.pwned=2</script>', text: '<script>window.pwned=3</script>', level: 'error' });
  view.directors[0].services[0].realServers[0].health.reason = '<svg onload="window.pwned=4">';
  const { page, errors } = await open(t, view);
  await signIn(page);
  await page.locator('table.agents').waitFor();
  t.is(await page.locator('table.agents th.host').first().evaluate((th) => th.firstChild?.textContent), evil);
  t.is(await page.locator('ol.events li').first().locator('.text').innerText(), '<script>window.pwned=3</script>');
  t.is(await page.locator('ol.events li b').first().innerText(), '<script>window.pwned=2</script>');
  t.true(await page.locator('table.rs').getByText('<svg onload="window.pwned=4">').isVisible());
  t.is(await page.locator('#main img, #main svg, #main script, .roles b').count(), 0, 'no element was made from data');
  t.is(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned), undefined);
  t.deepEqual(errors, []);
});

test.serial('a session that ends while the page is open brings the login form back', async (t) => {
  const { server, page } = await open(t);
  await signIn(page);
  await page.locator('#status', { hasText: 'live' }).waitFor();
  server.expireSessions();
  await page.locator('#login').waitFor({ state: 'visible' });
  t.true(await page.locator('#main').isHidden());
  await signIn(page);
  await page.locator('#status', { hasText: 'live' }).waitFor();
  t.true(await page.locator('table.agents').isVisible());
});
