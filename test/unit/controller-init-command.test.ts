import test from 'ava';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ERRORS } from '../../common/errors.js';
import { exec } from '../../common/exec.js';
import { fingerprint } from '../../common/x509.js';
import { tempDir } from '../helpers/pki.js';
import { CTL } from '../helpers/procs.js';

/** `ctl controller init`, `controller token --data` and `controller start` on a folder without a CA, as an operator runs them. */
const tmp = tempDir('lvst-init-cmd-');
test.after.always(() => tmp.cleanup());
const ctl = (args: string[]) => exec(process.execPath, [CTL, ...args], { cwd: tmp.dir, env: { ...process.env, NO_COLOR: '1', LVSCTL_LAB_DIR: path.join(tmp.dir, 'no-lab'), LVSCTL_TOKEN: '' } });

test('init prints the CA fingerprint and the admin token once, keeps only its hash, and never runs twice', async (t) => {
  const data = path.join(tmp.dir, 'data');
  const r = await ctl(['controller', 'init', '--data', data, '--san', 'lb.example', '--san', '10.0.0.5']);
  t.is(r.code, 0, r.stderr);
  const fp = fingerprint(readFileSync(path.join(data, 'pki/ca.crt'), 'utf8'));
  t.regex(r.stdout, new RegExp(`CA fingerprint: +${fp}`));
  t.regex(r.stdout, /TLS certificate for: lb\.example, 10\.0\.0\.5/);
  const token = /^ {2}(lvsctl_api_\S+)$/m.exec(r.stdout)?.[1];
  t.truthy(token);
  t.false(readFileSync(path.join(data, 'auth/api-tokens.json'), 'utf8').includes(token!), 'only its hash is stored');
  t.is(statSync(path.join(data, 'pki/ca.key')).mode & 0o777, 0o600);

  const again = await ctl(['controller', 'init', '--data', data]);
  t.is(again.code, ERRORS.CTL_ERR_ALREADY_INITIALISED.exit);
  t.regex(again.stderr, /already holds a CA .* nothing was changed/);
  t.is(fingerprint(readFileSync(path.join(data, 'pki/ca.crt'), 'utf8')), fp, 'the CA is kept');

  const made = await ctl(['controller', 'token', 'create', 'ci', '--data', data]);
  t.is(made.code, 0, made.stderr);
  t.regex(made.stdout, /^ {2}lvsctl_api_\S+$/m);
  const list = await ctl(['controller', 'token', 'list', '--data', data]);
  t.regex(list.stdout, /^admin\s/m);
  t.regex(list.stdout, /^ci\s/m);
  t.notRegex(list.stdout, /lvsctl_api_/);
  t.is((await ctl(['controller', 'token', 'revoke', 'ci', '--data', data])).code, 0);
  t.notRegex((await ctl(['controller', 'token', 'list', '--data', data])).stdout, /^ci\s/m);
});

test('init can write the admin token to a 0600 file instead of the terminal', async (t) => {
  const file = path.join(tmp.dir, 'admin-token');
  const r = await ctl(['controller', 'init', '--data', path.join(tmp.dir, 'data2'), '--admin-token-file', file]);
  t.is(r.code, 0, r.stderr);
  t.notRegex(r.stdout, /lvsctl_api_/);
  t.regex(readFileSync(file, 'utf8'), /^lvsctl_api_\S+\n$/);
  t.is(statSync(file).mode & 0o777, 0o600);
});

test('controller start on a folder without a CA says to run init (or --insecure-http for a dev controller)', async (t) => {
  const r = await ctl(['controller', 'start', '--data', path.join(tmp.dir, 'empty'), '--port', '1']);
  t.is(r.code, ERRORS.CTL_ERR_NOT_INITIALISED.exit);
  t.regex(r.stderr, /holds no CA: run ctl controller init --data .*empty first \(or --insecure-http for a dev controller/);
  t.is(r.stderr.trim().split('\n').length, 1);
});
