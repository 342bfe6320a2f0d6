import { execFile } from 'node:child_process';

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
 * as code 127 like a shell would, so callers handle one shape only. Standard input is always
 * closed (after `input`, if any): a command that reads it must not wait for the timeout.
 */
export const exec: Exec = (file, args, opts = {}) => {
  const started = performance.now();
  const timeout = opts.timeoutMs ?? 120_000;
  return new Promise((resolve) => {
    const child = execFile(
      file,
      [...args],
      {
        env: opts.env ?? process.env,
        cwd: opts.cwd,
        timeout,
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        const ms = performance.now() - started;
        if (!err) return resolve({ code: 0, stdout, stderr, ms });
        const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
        if (e.code === 'ENOENT') return resolve({ code: 127, stdout, stderr: `${file}: command not found`, ms });
        // An exit status is the command's own answer: its stderr as it is. Otherwise (killed on
        // timeout, a signal, a spawn error) say what happened.
        if (typeof e.code === 'number') return resolve({ code: e.code, stdout, stderr, ms });
        const code = e.killed ? 124 : 1;
        resolve({ code, stdout, stderr: stderr + (e.killed ? `killed after ${timeout} ms\n` : `${e.message}\n`), ms });
      },
    );
    // A command that exits without reading its input makes the write fail with EPIPE.
    child.stdin?.on('error', () => {});
    child.stdin?.end(opts.input ?? '');
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
