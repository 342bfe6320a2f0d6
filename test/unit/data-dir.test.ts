import test from 'ava';
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureToken } from '../../cli/controller-command.js';
import { writePrivateFileAtomic } from '../../common/private-file.js';
import { Store } from '../../controller/store.js';
import { tempDir } from '../helpers/pki.js';

const mode = (p: string) => statSync(p).mode & 0o777;

test('the controller data folder is made 0700, and an existing wider one is tightened', async (t) => {
  const d = tempDir('lvst-data-');
  t.teardown(d.cleanup);
  const fresh = path.join(d.dir, 'fresh/data');
  await (await Store.open(fresh)).flush();
  t.is(mode(fresh), 0o700);
  const wide = path.join(d.dir, 'wide');
  mkdirSync(wide, { mode: 0o755 });
  chmodSync(wide, 0o755);
  await Store.open(wide);
  t.is(mode(wide), 0o700);
  const tokenDir = path.join(d.dir, 'token-dir');
  ensureToken(tokenDir);
  t.is(mode(tokenDir), 0o700);
  t.is(mode(path.join(tokenDir, 'token')), 0o600);
});

test('private files are written whole with mode 0600, replacing a wider file', async (t) => {
  const d = tempDir('lvst-data-');
  t.teardown(d.cleanup);
  const f = path.join(d.dir, 'secret.json');
  writeFileSync(f, 'old', { mode: 0o644 });
  await writePrivateFileAtomic(f, '{"new":true}\n');
  t.is(mode(f), 0o600);
  t.is(statSync(f).size, 13);
  await writePrivateFileAtomic(path.join(d.dir, 'public.crt'), 'x', 0o644);
  t.is(mode(path.join(d.dir, 'public.crt')), 0o644);
});
