import test from 'ava';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sourceFile } from '../../cli/source-file.js';
import { CtlError } from '../../common/errors.js';
import { buildController, type Controller } from '../../controller/app.js';
import { resolveInProject } from '../../controller/project-path.js';
import { REPO } from '../helpers/procs.js';
import { tempDir } from '../helpers/pki.js';

/**
 * A project folder with a symlink to a file outside it, a symlinked folder leading outside, and
 * a secret file beside the project whose content must never come back.
 */
const tmp = tempDir('lvst-project-');
test.after.always(() => tmp.cleanup());
const project = path.join(tmp.dir, 'project');
const SECRET = 'outside-secret-line: do not read';
const secretFile = path.join(tmp.dir, 'secret.yml');
mkdirSync(path.join(project, 'inventory'), { recursive: true });
writeFileSync(secretFile, `${SECRET}\n`);
mkdirSync(path.join(tmp.dir, 'elsewhere'));
writeFileSync(path.join(tmp.dir, 'elsewhere/inv.yml'), `# ${SECRET}\nall: {hosts: {x: {}}}\n`);
writeFileSync(path.join(project, 'inventory/ok.yml'), 'all:\n  hosts:\n    h1: {ansible_host: 10.0.0.1}\n');
symlinkSync(secretFile, path.join(project, 'inventory/link.yml'));
symlinkSync(path.join(tmp.dir, 'elsewhere'), path.join(project, 'shared'));
symlinkSync('ok.yml', path.join(project, 'inventory/alias.yml'));

const refused = (p: string, field = 'inventory') => {
  const e = (() => {
    try {
      resolveInProject(project, p, field);
    } catch (err) {
      return err;
    }
    return undefined;
  })();
  return e instanceof CtlError && e.code === 'CTL_ERR_PATH_OUTSIDE_PROJECT' && e.where.field === field;
};

test('paths inside the project resolve; symlinks inside it are followed', (t) => {
  t.is(resolveInProject(project, 'inventory/ok.yml', 'inventory'), path.join(project, 'inventory/ok.yml'));
  t.is(resolveInProject(project, path.join(project, 'inventory/ok.yml'), 'inventory'), path.join(project, 'inventory/ok.yml'), 'absolute within the project');
  t.is(resolveInProject(project, 'inventory/alias.yml', 'inventory'), path.join(project, 'inventory/ok.yml'));
  t.is(resolveInProject(project, 'inventory/../inventory/ok.yml', 'inventory'), path.join(project, 'inventory/ok.yml'));
  t.is(resolveInProject(project, 'inventory/missing/x.yml', 'inventory'), path.join(project, 'inventory/missing/x.yml'), 'a missing file keeps its name for "not found"');
});

test('absolute paths elsewhere, .. that leaves, and symlinks that lead out are refused naming the field', (t) => {
  t.true(refused('/etc/passwd'));
  t.true(refused('../../x'));
  t.true(refused('inventory/../../secret.yml'));
  t.true(refused(secretFile, 'playbook'));
  t.true(refused('inventory/link.yml'), 'file symlink to outside');
  t.true(refused('shared/inv.yml'), 'folder symlink to outside');
  t.true(refused('shared/missing.yml'), 'even for a file that does not exist there');
  t.true(refused(''));
  t.true(refused('inventory/ok.yml\0'));
});

test('ctl sends a local file by content and leaves other paths to the controller', (t) => {
  t.deepEqual(sourceFile(secretFile, 'inventory'), { name: secretFile, content: readFileSync(secretFile, 'utf8') });
  t.is(sourceFile('inventory/not-here.yml', 'inventory'), 'inventory/not-here.yml');
  t.is(sourceFile(tmp.dir, 'inventory'), tmp.dir, 'a folder is not sent');
});

let ctl: Controller;
const auth = { authorization: 'Bearer t0ken' };
test.before(async () => {
  ctl = await buildController({ dataDir: path.join(tmp.dir, 'data'), token: 't0ken', projectDir: project });
});
test.after.always(async () => ctl?.close());

const lint = (payload: object) => ctl.app.inject({ method: 'POST', url: '/api/lint', headers: auth, payload: { kind: 'role', role: 'none', hosts: 'all', ...payload } });

test('the API refuses inventory and playbook paths outside the project with 400 and the field, and reads nothing', async (t) => {
  const cases: [object, string][] = [
    [{ inventory: '/etc/passwd' }, 'inventory'],
    [{ inventory: '../../x' }, 'inventory'],
    [{ inventory: ['inventory/ok.yml', secretFile] }, 'inventory'],
    [{ inventory: 'inventory/link.yml' }, 'inventory'],
    [{ inventory: 'shared/inv.yml' }, 'inventory'],
    [{ kind: 'playbook', playbook: '/etc/passwd', inventory: 'inventory/ok.yml' }, 'playbook'],
    [{ kind: 'playbook', playbook: '../../x', inventory: 'inventory/ok.yml' }, 'playbook'],
  ];
  for (const [body, field] of cases) {
    for (const url of ['/api/lint', '/api/runs']) {
      const res = await ctl.app.inject({ method: 'POST', url, headers: auth, payload: { kind: 'role', role: 'none', hosts: 'all', ...body } });
      t.is(res.statusCode, 400, `${url} ${JSON.stringify(body)}`);
      t.is(res.json().error.code, 'CTL_ERR_PATH_OUTSIDE_PROJECT');
      t.is(res.json().error.where.field, field);
      t.false(res.body.includes(SECRET) || res.body.includes('root:'), 'no content of the file comes back');
    }
  }
  t.deepEqual((await ctl.app.inject({ url: '/api/runs', headers: auth })).json(), []);
});

test('files sent by content are parsed from the content, whatever their name says', async (t) => {
  const res = await lint({ role: 'httpd', inventory: { name: '/etc/passwd', content: 'all:\n  hosts:\n    web1: {ansible_host: 10.0.0.9}\n' } });
  // The role does not exist in this project: the inventory was read from the content first.
  t.is(res.json().error.code, 'CTL_ERR_ROLE_NOT_FOUND', res.body);
  const bad = await lint({ inventory: { name: 'mine.yml', content: 'all: [' } });
  t.is(bad.json().error.code, 'CTL_ERR_INVENTORY_PARSE');
  t.regex(bad.json().error.line, /^mine\.yml:1/);
});

test('the repository project still plans with relative paths', async (t) => {
  const repo = await buildController({ dataDir: path.join(tmp.dir, 'data-repo'), token: 't0ken', projectDir: REPO });
  t.teardown(() => repo.close());
  const res = await repo.app.inject({ method: 'POST', url: '/api/lint', headers: auth, payload: { kind: 'playbook', playbook: 'site.yml', inventory: 'inventory/dr.yml' } });
  t.is(res.statusCode, 200, res.body);
});
