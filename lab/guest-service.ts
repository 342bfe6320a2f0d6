/**
 * Runs INSIDE the lab guest (started by the guest's init): the guest end of the command channel.
 * It reads JSON-line requests from the virtio-serial port `lvsctl.exec` and runs each argv in
 * the named network namespace (`ip netns exec NAME argv...`, no shell), answering
 * {id, code, stdout, stderr}. Only node built-ins: node starts slowly under emulation.
 */
import { execFile } from 'node:child_process';
import { open, readdir, readFile, writeFile } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import type { FileHandle } from 'node:fs/promises';
import { EXEC_PORT_NAME, type ExecReply, type ExecRequest } from './protocol.js';

async function findPort(): Promise<string> {
  for (;;) {
    try {
      for (const dev of await readdir('/sys/class/virtio-ports')) {
        const name = (await readFile(`/sys/class/virtio-ports/${dev}/name`, 'utf8')).trim();
        if (name === EXEC_PORT_NAME) return `/dev/${dev}`;
      }
    } catch {
      // not there yet
    }
    await sleep(200);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function run(req: ExecRequest): Promise<ExecReply> {
  const [file, args] =
    req.host === 'guest' ? [req.argv[0]!, req.argv.slice(1)] : ['ip', ['netns', 'exec', req.host, ...req.argv]];
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { timeout: req.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (!err) return resolve({ id: req.id, code: 0, stdout, stderr });
        const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
        if (e.code === 'ENOENT') return resolve({ id: req.id, code: 127, stdout, stderr: `${file}: command not found` });
        // An exit status is the command's own answer: its stderr as it is. Otherwise (killed
        // on timeout, signal, spawn error) say what happened.
        if (typeof e.code === 'number') return resolve({ id: req.id, code: e.code, stdout, stderr });
        const code = e.killed ? 124 : 1;
        resolve({ id: req.id, code, stdout, stderr: stderr + (e.killed ? `killed after ${req.timeoutMs ?? 120_000} ms\n` : `${e.message}\n`) });
      },
    );
    child.stdin?.on('error', () => {});
    child.stdin?.end(req.input ?? '');
  });
}

async function main(): Promise<void> {
  const path = await findPort();
  const fh: FileHandle = await open(path, 'r+');
  let writing: Promise<unknown> = Promise.resolve();
  const reply = (r: ExecReply): void => {
    const buf = Buffer.from(JSON.stringify(r) + '\n');
    writing = writing.then(() => fh.write(buf)).catch(() => {});
  };
  console.log(`guest-service: listening on ${path}`);
  const readyFile = process.argv[2];
  if (readyFile) await writeFile(readyFile, `${process.pid}\n`);
  let pending = '';
  let lastActive = Date.now();
  let decoder = new StringDecoder('utf8');
  const buf = Buffer.alloc(256 * 1024);
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, buf.length, null);
    if (bytesRead === 0) {
      // The host end is not connected: read() answers 0 at once until it is, so poll; quickly
      // for a while after the last request (callers come in bursts), slowly when idle: each
      // poll costs a few ms of emulated CPU.
      pending = '';
      decoder = new StringDecoder('utf8');
      await sleep(Date.now() - lastActive < 10_000 ? 50 : 1000);
      continue;
    }
    lastActive = Date.now();
    pending += decoder.write(buf.subarray(0, bytesRead));
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (!line.trim()) continue;
      let req: ExecRequest;
      try {
        req = JSON.parse(line) as ExecRequest;
        if (typeof req.id !== 'string' || typeof req.host !== 'string' || !Array.isArray(req.argv) || req.argv.length === 0) {
          throw new Error('bad request');
        }
      } catch {
        continue;
      }
      void run(req).then(reply);
    }
  }
}

main().catch((e) => {
  console.error(`guest-service: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
