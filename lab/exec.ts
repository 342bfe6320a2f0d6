import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { CtlError } from '../common/errors.js';
import { labPaths, type LabPaths } from './paths.js';
import type { ExecReply, ExecRequest } from './protocol.js';

export interface LabExecOptions {
  timeoutMs?: number;
  /** Text for the command's standard input. */
  input?: string;
  paths?: LabPaths;
  /** How long to wait for the reply; default timeoutMs + 10 s. */
  waitMs?: number;
}

export interface LabExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface Pending {
  resolve: (r: LabExecResult) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * One connection per lab socket, shared by the calls of this process that overlap and closed
 * when none is left: qemu serves one client at a time, so other processes (a second `ctl lab
 * exec`) wait in the socket's backlog until this one lets go. Replies carry the request id;
 * anything else on the line is ignored.
 */
class Channel {
  private sock: Socket | undefined;
  private linger: NodeJS.Timeout | undefined;
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly path: string) {}

  request(req: ExecRequest, waitMs: number): Promise<LabExecResult> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(req.id);
        this.releaseIfIdle();
        resolve({ code: 124, stdout: '', stderr: `lab exec: no answer from the guest within ${waitMs} ms` });
      }, waitMs);
      this.pending.set(req.id, { resolve, reject, timer });
      const s = this.socket();
      if (this.linger) clearTimeout(this.linger);
      this.linger = undefined;
      s.ref();
      s.write(JSON.stringify(req) + '\n');
    });
  }

  private socket(): Socket {
    if (this.sock) return this.sock;
    const s = connect(this.path);
    const decoder = new StringDecoder('utf8');
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += decoder.write(d);
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let r: ExecReply;
        try {
          r = JSON.parse(line) as ExecReply;
        } catch {
          continue;
        }
        const p = this.pending.get(r.id);
        if (!p) continue;
        this.pending.delete(r.id);
        clearTimeout(p.timer);
        p.resolve({ code: r.code, stdout: r.stdout, stderr: r.stderr });
      }
      this.releaseIfIdle();
    });
    const fail = (e: Error): void => {
      // A connection let go when idle closes after the next one may have taken over: the
      // requests waiting now are that one's, not this one's.
      if (this.sock !== s) return;
      this.sock = undefined;
      for (const [id, p] of this.pending) {
        clearTimeout(p.timer);
        p.reject(new CtlError('CTL_ERR_LAB', `lab command channel ${this.path}: ${e.message}`));
        this.pending.delete(id);
      }
    };
    s.on('error', fail);
    s.on('close', () => fail(new Error('closed by the guest side')));
    this.sock = s;
    return s;
  }

  /**
   * Keeps an idle connection a moment for the next call of a burst (the guest side polls while
   * no host is connected), without holding the process open, then lets other processes in.
   */
  private releaseIfIdle(): void {
    if (this.pending.size !== 0 || !this.sock || this.linger) return;
    const s = this.sock;
    s.unref();
    this.linger = setTimeout(() => {
      this.linger = undefined;
      if (this.pending.size === 0 && this.sock === s) {
        this.sock = undefined;
        s.end();
      }
    }, 300);
    this.linger.unref();
  }
}

const channels = new Map<string, Channel>();

/**
 * Runs `argv` (no shell) inside the lab host `host`'s network namespace, or in the guest's root
 * namespace for host `guest`, through the qemu virtio-serial command channel.
 * Never throws for a non-zero exit; throws CTL_ERR_LAB when the lab is not reachable.
 */
export async function labExec(host: string, argv: readonly string[], opts: LabExecOptions = {}): Promise<LabExecResult> {
  if (argv.length === 0) throw new CtlError('CTL_ERR_USAGE', 'lab exec: no command given');
  const p = opts.paths ?? labPaths();
  if (!existsSync(p.execSocket)) throw new CtlError('CTL_ERR_LAB', 'the lab is not running (no command channel); run `ctl lab up`');
  let ch = channels.get(p.execSocket);
  if (!ch) {
    ch = new Channel(p.execSocket);
    channels.set(p.execSocket, ch);
  }
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const req: ExecRequest = { id: randomUUID(), host, argv: [...argv], timeoutMs };
  if (opts.input !== undefined) req.input = opts.input;
  // The guest kills the command at timeoutMs; allow a little more for the round trip.
  return ch.request(req, opts.waitMs ?? timeoutMs + 10_000);
}
