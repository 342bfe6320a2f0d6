import { execFile, spawn } from 'node:child_process';

/** What every command run on a host returns; the helper never throws for a non-zero exit. */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface ExecOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  cwd?: string;
}

export type Exec = (file: string, args: readonly string[], opts?: ExecOptions) => Promise<ExecResult>;

/**
 * The one exec helper: an argument array, never a shell string. A missing binary is reported
 * as code 127 like a shell would, so callers handle one shape only.
 */
export const exec: Exec = (file, args, opts = {}) => {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = execFile(
      file,
      [...args],
      {
        env: opts.env ?? process.env,
        cwd: opts.cwd,
        timeout: opts.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        const ms = performance.now() - started;
        if (!err) return resolve({ code: 0, stdout, stderr, ms });
        const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
        if (e.code === 'ENOENT') return resolve({ code: 127, stdout, stderr: `${file}: command not found`, ms });
        const code = typeof e.code === 'number' ? e.code : e.killed ? 124 : 1;
        resolve({ code, stdout, stderr: stderr || e.message, ms });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
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
