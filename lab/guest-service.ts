/**
 * Runs INSIDE the lab guest (started by the guest's init): the guest end of the command channel.
 * It reads JSON-line requests from the virtio-serial port `lvsctl.exec` and runs each argv in
 * the named network namespace (`ip netns exec NAME argv...`, no shell), answering
 * {id, code, stdout, stderr}. Only node built-ins (and the exec helper, which has only those):
 * node starts slowly under emulation.
 */
import { exec } from '../common/exec.js';
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

async function run(req: ExecRequest): Promise<ExecReply> {
  const [file, args] =
    req.host === 'guest' ? [req.argv[0]!, req.argv.slice(1)] : ['ip', ['netns', 'exec', req.host, ...req.argv]];
  const r = await exec(file, args, { ...(req.timeoutMs !== undefined ? { timeoutMs: req.timeoutMs } : {}), ...(req.input !== undefined ? { input: req.input } : {}) });
  return { id: req.id, code: r.code, stdout: r.stdout, stderr: r.stderr };
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
      // A spawn that throws (a NUL byte in an argument) is an answer too, not a dead service.
      void run(req)
        .catch((e: Error): ExecReply => ({ id: req.id, code: 1, stdout: '', stderr: `${e.message}\n` }))
        .then(reply);
    }
  }
}

main().catch((e) => {
  console.error(`guest-service: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
