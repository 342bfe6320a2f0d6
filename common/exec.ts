import { spawn } from 'node:child_process';

/** What every command run on a host returns; the helper never throws for a non-zero exit. */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
  /** Set when the timeout stopped the command (its code is then 124, as coreutils' timeout). */
  timedOut?: boolean;
  /** Set when `signal` stopped the command (code 124 too). */
  aborted?: boolean;
}

export interface ExecOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  cwd?: string;
  /**
   * Run the command in a process group of its own and, at the timeout, SIGKILL the whole group:
   * a script's children (a curl it started, a sleep) die with it instead of holding the pipes
   * open or outliving the check that started them.
   */
  killGroup?: boolean;
  /**
   * Stops the command when aborted (a task's time limit, a cancelled job): SIGKILL, to the whole
   * group with `killGroup`. Not started at all when already aborted.
   */
  signal?: AbortSignal;
}

export type Exec = (file: string, args: readonly string[], opts?: ExecOptions) => Promise<ExecResult>;

const MAX_OUTPUT = 64 * 1024 * 1024;

/**
 * The one exec helper: an argument array, never a shell string. A missing binary is reported
 * as code 127 like a shell would, so callers handle one shape only. Standard input is always
 * closed (after `input`, if any): a command that reads it must not wait for the timeout.
 */
export const exec: Exec = (file, args, opts = {}) => {
  const started = performance.now();
  const timeout = opts.timeoutMs ?? 120_000;
  const why = () => String((opts.signal?.reason as Error | undefined)?.message ?? opts.signal?.reason ?? 'aborted');
  if (opts.signal?.aborted) return Promise.resolve({ code: 124, stdout: '', stderr: `${file}: not started: ${why()}\n`, ms: 0, aborted: true });
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let timedOut = false;
    let aborted = false;
    let overflow = false;
    let settled = false;
    const finish = (code: number, stderrOverride?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = stderrOverride ?? Buffer.concat(err).toString('utf8');
      resolve({ code, stdout, stderr, ms: performance.now() - started, ...(timedOut ? { timedOut: true } : {}), ...(aborted ? { aborted: true } : {}) });
    };
    const child = spawn(file, [...args], { env: opts.env ?? process.env, cwd: opts.cwd, detached: opts.killGroup === true });
    const stop = (signal: NodeJS.Signals) => {
      if (opts.killGroup && child.pid !== undefined) {
        try {
          process.kill(-child.pid, signal);
        } catch {
          // the group is already gone
        }
        // A member that left the group may still hold the pipes; do not wait for it.
        child.stdout.destroy();
        child.stderr.destroy();
      } else child.kill(signal);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop(opts.killGroup ? 'SIGKILL' : 'SIGTERM');
    }, timeout);
    const onAbort = () => {
      aborted = true;
      stop('SIGKILL');
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const collect = (into: Buffer[]) => (d: Buffer) => {
      size += d.length;
      if (size > MAX_OUTPUT) {
        overflow = true;
        stop('SIGKILL');
      } else into.push(d);
    };
    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    child.stdin.on('error', () => {
      // a command that exits without reading its input closes the pipe; its exit code says enough
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') finish(127, `${file}: command not found`);
      else finish(1, e.message);
    });
    child.on('close', (code) => {
      if (overflow) return finish(1, `${file}: output exceeds ${MAX_OUTPUT} bytes`);
      if (code === 0 && !timedOut && !aborted) return finish(0);
      // An exit status is the command's own answer: its stderr as it is. Otherwise (killed on
      // timeout, a signal) say what happened.
      const stderr = Buffer.concat(err).toString('utf8');
      if (timedOut) return finish(124, `${stderr}killed after ${timeout} ms\n`);
      if (aborted) return finish(124, `${stderr}${file}: killed: ${why()}\n`);
      finish(code ?? 1, code === null ? `${stderr}${file}: killed by a signal\n` : stderr);
    });
    child.stdin.end(opts.input ?? '');
  });
};

/** Runs a command and throws its stderr when it fails: for apply steps that must succeed. */
export async function execOk(run: Exec, file: string, args: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
  const r = await run(file, args, opts);
  if (r.code !== 0) {
    const msg = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ');
    throw new Error(`${file} ${args.join(' ')}: exit ${r.code}: ${msg}`);
  }
  return r;
}

/** How a long-running command ended: code 127 when the binary is missing, as exec reports it. */
export interface LineExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last few KB of its stderr, for the log line that says why it ended. */
  stderr: string;
}

/** A long-running command whose stdout is read line by line (`ip monitor`). */
export interface LineProcess {
  readonly pid: number | undefined;
  readonly exited: Promise<LineExit>;
  /** Ends its whole process group: SIGTERM, SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<LineExit>;
}

export type SpawnLines = (file: string, args: readonly string[], onLine: (line: string) => void, opts?: Pick<ExecOptions, 'env' | 'cwd'>) => LineProcess;

const STDERR_TAIL = 4096;

/**
 * The streaming form of the exec helper: an argument array, never a shell. The command gets a
 * process group of its own so that `stop` also ends whatever it started.
 */
export const spawnLines: SpawnLines = (file, args, onLine, opts = {}) => {
  const child = spawn(file, [...args], { env: opts.env ?? process.env, cwd: opts.cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let partial = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const l of lines) onLine(l);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL);
  });
  const exited = new Promise<LineExit>((resolve) => {
    child.once('error', (e: NodeJS.ErrnoException) => {
      if (child.pid === undefined) resolve({ code: e.code === 'ENOENT' ? 127 : 1, signal: null, stderr: e.code === 'ENOENT' ? `${file}: command not found` : e.message });
    });
    child.once('close', (code, signal) => {
      if (partial) onLine(partial);
      partial = '';
      resolve({ code, signal, stderr });
    });
  });
  const signalGroup = (sig: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, sig);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
  };
  let done = false;
  void exited.then(() => (done = true));
  return {
    pid: child.pid,
    exited,
    async stop(graceMs = 2000) {
      if (done) return exited;
      signalGroup('SIGTERM');
      const force = setTimeout(() => signalGroup('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(force);
      }
    },
  };
};
