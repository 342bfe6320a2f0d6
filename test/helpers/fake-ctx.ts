import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Exec, ExecResult } from '../../common/exec.js';
import type { HostFacts } from '../../common/protocol.js';
import type { ModuleContext } from '../../agent/module.js';
import { KernelState } from '../../agent/kstate/kernel-state.js';

export function facts(over: Partial<HostFacts> = {}): HostFacts {
  return {
    hostname: 'server2',
    os: { platform: 'linux', distro: 'Red Hat Enterprise Linux', release: '9.4', major: 9, codename: '', kernel: '5.14.0', arch: 'x64', family: 'redhat' },
    initSystem: 'systemd',
    pkgManager: 'dnf',
    interfaces: [],
    cpu: { brand: 'test', cores: 2 },
    memory: { total: 1, free: 1 },
    root: '/',
    agentVersion: 'test',
    ...over,
  };
}

export interface RecordingExec extends Exec {
  calls: { file: string; args: string[]; input?: string }[];
}

/** An exec that answers from a table keyed by `file args...` and records every call. */
export function fakeExec(answers: Record<string, Partial<ExecResult>> = {}): RecordingExec {
  const calls: RecordingExec['calls'] = [];
  const fn = (async (file: string, args: readonly string[], opts?: { input?: string }) => {
    calls.push({ file, args: [...args], ...(opts?.input !== undefined ? { input: opts.input } : {}) });
    const a = answers[[file, ...args].join(' ')] ?? {};
    return { code: 0, stdout: '', stderr: '', ms: 0, ...a };
  }) as RecordingExec;
  fn.calls = calls;
  return fn;
}

export function tempRoot(): { root: string; cleanup: () => void } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'lvst-root-'));
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** Kernel state read through `exec`, with /proc files from `files` (absent when not listed). */
export function fakeKernel(exec: Exec, files: Record<string, string> = {}): KernelState {
  return new KernelState({ exec, readFile: async (p) => files[p] ?? null });
}

export function ctxFor(root: string, over: Partial<ModuleContext> = {}): ModuleContext {
  const exec = over.exec ?? fakeExec();
  return { root, check: false, exec, facts: facts({ root }), kernel: fakeKernel(exec), ...over };
}
