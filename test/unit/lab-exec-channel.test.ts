import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { labExec } from '../../lab/exec.js';
import { labPaths } from '../../lab/paths.js';
import type { ExecRequest } from '../../lab/protocol.js';

/**
 * The host side of the lab's command channel against a fake guest on a unix socket that, like
 * qemu, closes a connection the host let go only a moment later, and answers slowly.
 */
test('an idle connection closing late does not fail a request already sent on the next one', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lvst-labexec-'));
  const paths = labPaths(dir);
  mkdirSync(path.dirname(paths.execSocket), { recursive: true });
  const conns: Socket[] = [];
  const server = createServer({ allowHalfOpen: true }, (c) => {
    conns.push(c);
    let buf = '';
    c.on('data', (d) => {
      buf += String(d);
      for (let nl; (nl = buf.indexOf('\n')) >= 0; ) {
        const req = JSON.parse(buf.slice(0, nl)) as ExecRequest;
        buf = buf.slice(nl + 1);
        setTimeout(() => c.write(JSON.stringify({ id: req.id, code: 0, stdout: req.argv.join(' '), stderr: '' }) + '\n'), 300);
      }
    });
    // The host ended its side: close ours a little later, as the guest side does.
    c.on('end', () => setTimeout(() => c.end(), 100));
  });
  await new Promise<void>((resolve) => server.listen(paths.execSocket, resolve));
  t.teardown(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  t.is((await labExec('server2', ['first'], { paths })).stdout, 'first');
  // Past the channel's linger (300 ms): the first connection is being let go as the next request goes out.
  await new Promise((r) => setTimeout(r, 310));
  const second = await labExec('server2', ['second'], { paths });
  t.deepEqual(second, { code: 0, stdout: 'second', stderr: '' });
  t.is(conns.length, 2, 'the second request went on a new connection');
});
