import test from 'ava';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { AgentListSchema } from '../../common/api.js';
import { CtlError } from '../../common/errors.js';
import { Client } from '../../cli/client.js';
import { resolveEndpoint } from '../../cli/endpoint.js';
import { tempDir } from '../helpers/pki.js';
import { REPO } from '../helpers/procs.js';
import { startTlsController } from '../helpers/tls-controller.js';

/** Where ctl finds the controller, its token and the CA to verify it with; and that it verifies. */
const tmp = tempDir('lvst-endpoint-');
test.after.always(() => tmp.cleanup());

function withEnv<T>(env: Record<string, string | undefined>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

const clean = { LVSCTL_URL: undefined, LVSCTL_TOKEN: undefined, LVSCTL_TOKEN_FILE: undefined, LVSCTL_CA: undefined };

test.serial('the token comes from a file or the environment, and an https controller needs its CA', (t) => {
  const tokenFile = path.join(tmp.dir, 'token');
  const caFile = path.join(tmp.dir, 'ca.crt');
  writeFileSync(tokenFile, 'from-file\n', { mode: 0o600 });
  writeFileSync(caFile, 'CA PEM');
  withEnv({ ...clean, LVSCTL_TOKEN: 'from-env' }, () => {
    t.like(resolveEndpoint({ controller: 'http://h:1', tokenFile }), { url: 'http://h:1', token: 'from-file' });
    t.like(resolveEndpoint({ controller: 'http://h:1' }), { token: 'from-env' });
  });
  withEnv({ ...clean, LVSCTL_TOKEN_FILE: tokenFile }, () => t.like(resolveEndpoint({ controller: 'http://h:1' }), { token: 'from-file' }));
  withEnv(clean, () => {
    const e = t.throws(() => resolveEndpoint({ controller: 'https://h:1', tokenFile }), { instanceOf: CtlError });
    t.is(e?.code, 'CTL_ERR_CONTROLLER_CERT');
    t.is(resolveEndpoint({ controller: 'https://h:1', tokenFile, ca: caFile }).ca, 'CA PEM');
    const lab = { url: 'https://127.0.0.1:9', token: 'lab-token', caFile };
    t.deepEqual(resolveEndpoint({}, lab), { url: lab.url, token: 'lab-token', ca: 'CA PEM' }, 'a running lab lends its URL, token and CA');
    t.is(resolveEndpoint({ controller: 'https://other:1', tokenFile, ca: caFile }, lab).token, 'from-file');
  });
  withEnv({ ...clean, LVSCTL_URL: '' }, () => t.throws(() => resolveEndpoint({ tokenFile: path.join(tmp.dir, 'nope') }), { message: /cannot read .*nope: ENOENT/ }));
});

test.serial('ctl verifies the controller against the CA: another CA is a certificate error, not an outage', async (t) => {
  const a = await startTlsController(path.join(tmp.dir, 'a', 'data'), { projectDir: REPO });
  const b = await startTlsController(path.join(tmp.dir, 'b', 'data'), { projectDir: REPO });
  t.teardown(async () => {
    await a.ctl.close();
    await b.ctl.close();
  });
  t.deepEqual(await new Client({ url: a.url, token: a.adminToken, ca: a.ca }).get('/api/agents', AgentListSchema), []);
  const wrong = await t.throwsAsync(new Client({ url: a.url, token: a.adminToken, ca: b.ca }).get('/api/agents', AgentListSchema), { instanceOf: CtlError });
  t.is((wrong as CtlError).code, 'CTL_ERR_CONTROLLER_CERT');
  t.regex((wrong as CtlError).message, /does not verify against its CA/);
  const plain = await t.throwsAsync(new Client({ url: a.url.replace('https:', 'http:'), token: a.adminToken }).get('/api/agents', AgentListSchema), { instanceOf: CtlError });
  t.is((plain as CtlError).code, 'CTL_ERR_CONTROLLER_UNREACHABLE');
  t.regex((plain as CtlError).message, /a TLS controller answers on https:\/\//);
});
