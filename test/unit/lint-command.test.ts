import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { exec } from '../../common/exec.js';
import { buildController } from '../../controller/app.js';
import { facts } from '../helpers/fake-ctx.js';
import { CTL, REPO } from '../helpers/procs.js';

/**
 * `ctl lint` as an operator runs it: a real ctl process, with no controller (a free loopback
 * port nobody listens on) and with one that knows the director's interfaces.
 */

const tmp = mkdtempSync(path.join(os.tmpdir(), 'lvst-lintcmd-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

/** A loopback port that was free a moment ago: nothing answers there. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Neither the environment nor a running lab may point ctl at some controller: --controller wins. */
function ctl(args: string[]) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LVSCTL_')));
  return exec(process.execPath, [CTL, ...args], { cwd: REPO, env: { ...env, NO_COLOR: '1' }, timeoutMs: 60_000 });
}

function inventory(name: string, realservers: string): string {
  const file = path.join(tmp, name);
  writeFileSync(
    file,
    `all:\n  children:\n    lvs:\n      children:\n        directors: {hosts: {server2: {ansible_host: 172.25.7.2}}}\n        realservers:\n          hosts:\n${realservers}`,
  );
  return file;
}

test('with no controller the cluster passes offline and says what it skipped', async (t) => {
  const url = `http://127.0.0.1:${await freePort()}`;
  const r = await ctl(['lint', '-i', 'inventory/nat.yml', '--controller', url]);
  t.is(r.code, 0, r.stdout + r.stderr);
  t.true(r.stdout.split('\n').includes(`skipped: L2 segment check (no controller reachable at ${url})`), r.stdout);
  t.regex(r.stdout, /^ok: 3 hosts, \d+ tasks, 0 problems$/m);
});

test('offline, a NAT real server whose gateway is not the director is refused with host and variable', async (t) => {
  const url = `http://127.0.0.1:${await freePort()}`;
  const inv = inventory('nat-broken.yml', '            server3: {ansible_host: 172.25.7.3, lvs_director_address: 172.25.7.9}\n            server4: {ansible_host: 172.25.7.4}\n');
  const r = await ctl(['lint', '-i', 'inventory/nat.yml', '-i', inv, '--controller', url]);
  t.is(r.code, 4, r.stdout + r.stderr);
  t.is(r.stderr, "ERROR! server3: lvs_director_address: NAT real server's gateway is 172.25.7.9, not the director server2 (172.25.7.2)\n");
  t.regex(r.stdout, /^refused: 3 hosts, \d+ tasks, 1 problems$/m);
});

test('with a controller that knows the director, the segment check runs; a director without facts is named as skipped', async (t) => {
  const ctlr = await buildController({ dataDir: path.join(tmp, 'data'), token: 'lint-t0ken', projectDir: REPO });
  t.teardown(() => ctlr.close());
  await ctlr.app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(ctlr.app.server.address() as net.AddressInfo).port}`;
  const inv = inventory('dr-far.yml', '            server3: {ansible_host: 172.25.7.3}\n            server4: {ansible_host: 10.9.9.4}\n');
  const tokenFile = path.join(tmp, 'api-token');
  writeFileSync(tokenFile, 'lint-t0ken\n', { mode: 0o600 });
  const args = ['lint', '-i', 'inventory/dr.yml', '-i', inv, '--controller', url, '--token-file', tokenFile];

  const before = await ctl(args);
  t.is(before.code, 0, before.stdout + before.stderr);
  t.true(before.stdout.split('\n').includes('skipped: L2 segment check for server2 (no facts: its agent has not connected)'), before.stdout);

  ctlr.store.upsertAgent('server2', { facts: facts({ interfaces: [{ name: 'eth0', ip4: '172.25.7.2', ip4subnet: '255.255.255.0', mac: '', operstate: 'up' }] }) });
  const after = await ctl(args);
  t.is(after.code, 4, after.stdout + after.stderr);
  t.is(after.stderr, "ERROR! server4: ansible_host: DR real server 10.9.9.4 is not on the director's segment 172.25.7.2/24\n");
  t.false(after.stdout.includes('skipped:'), after.stdout);
});
