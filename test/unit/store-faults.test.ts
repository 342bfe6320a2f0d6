import test from 'ava';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CtlError } from '../../common/errors.js';
import { buildController } from '../../controller/app.js';
import { DurableFile } from '../../controller/durable-file.js';
import { Store, type StoreLog } from '../../controller/store.js';
import { REPO, waitFor } from '../helpers/procs.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'lvst-store-faults-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));

/** store.json through a file that fails while `error` is set, as a full disk would. */
class FailingFile extends DurableFile {
  error: NodeJS.ErrnoException | undefined;
  override async writeText(text: string): Promise<void> {
    if (this.error) throw this.error;
    return super.writeText(text);
  }
}

function recordingLog(): StoreLog & { errors: string[]; infos: string[] } {
  const errors: string[] = [];
  const infos: string[] = [];
  return { errors, infos, error: (_o, msg) => errors.push(msg), info: (_o, msg) => infos.push(msg) };
}

test('a failed write is logged once, shown by health, refuses runs, and is retried until it succeeds', async (t) => {
  const dir = path.join(root, 'injected');
  let file!: FailingFile;
  const log = recordingLog();
  const store = await Store.open(dir, { adapter: (f) => (file = new FailingFile(f)), retryMs: 20, log });
  t.teardown(() => store.close());
  file.error = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  store.setLedger('server2', 'lvs-realserver', [{ id: 'vip', module: 'address', retire: { state: 'absent' } }]);
  await store.flush();
  await store.flush();
  const health = store.health();
  t.false(health.writable);
  t.is(health.error, 'cannot write store.json: ENOSPC (no space left on device)');
  t.deepEqual(log.errors, ['cannot write store.json: ENOSPC (no space left on device)'], 'logged once, not on every retry');
  const e = t.throws(() => store.assertWritable(), { instanceOf: CtlError });
  t.is(e.code, 'CTL_ERR_STORE_UNWRITABLE');
  t.is(e.status, 503);

  file.error = undefined;
  await waitFor('a retry succeeds', async () => (store.health().writable ? true : undefined), 5000, 10);
  t.deepEqual(log.infos, ['store writable again']);
  t.notThrows(() => store.assertWritable());
  t.deepEqual(JSON.parse(readFileSync(path.join(dir, 'store.json'), 'utf8')).ledger.server2['lvs-realserver'][0].id, 'vip', 'the ledger that failed to write was not lost');
});

test('a data folder replaced by a file: /api/health says so with 503, new runs get 503, both recover', async (t) => {
  const data = path.join(root, 'real');
  const ctl = await buildController({ dataDir: data, token: 'tok', projectDir: REPO, storeRetryMs: 50, log: recordingLog() });
  t.teardown(() => ctl.close());
  const auth = { authorization: 'Bearer tok' };
  const startRun = () => ctl.app.inject({ method: 'POST', url: '/api/runs', headers: auth, payload: { kind: 'role', role: 'httpd', hosts: 'realservers', inventory: 'inventory/dr.yml' } });
  t.deepEqual((await ctl.app.inject({ url: '/api/health' })).json(), { ok: true, store: { writable: true } });

  // chmod does not stop root; a file where the folder was stops everyone.
  renameSync(data, `${data}.away`);
  writeFileSync(data, 'not a folder\n');
  t.is((await startRun()).statusCode, 201, 'the store has not noticed yet');
  await ctl.store.flush();
  const health = await ctl.app.inject({ url: '/api/health' });
  t.is(health.statusCode, 503);
  t.false(health.json().ok);
  t.regex(health.json().store.error, /^cannot write (store\.json|runs\/\w+\.ndjson): ENOTDIR \(not a directory\)$/);
  t.notRegex(health.body, new RegExp(root), 'no paths in the unauthenticated health answer');
  const refused = await startRun();
  t.is(refused.statusCode, 503);
  t.is(refused.json().error.code, 'CTL_ERR_STORE_UNWRITABLE');

  rmSync(data);
  renameSync(`${data}.away`, data);
  await waitFor('store writable again', async () => ((await ctl.app.inject({ url: '/api/health' })).statusCode === 200 ? true : undefined), 5000, 20);
  t.is((await startRun()).statusCode, 201);
  t.is((await ctl.app.inject({ url: '/api/runs', headers: auth })).json().length, 2, 'the run made while the folder was gone is in the index');
});
