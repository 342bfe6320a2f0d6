/**
 * Child-process side of netns.ts `runInNetns`: reads a NetnsJob as JSON on stdin, runs its tasks
 * with the agent's runner and the real exec helper, prints the results as JSON on stdout.
 */
import { exec } from '../../common/exec.js';
import type { AnyModule } from '../../agent/module.js';
import { KernelState } from '../../agent/kstate/kernel-state.js';
import { runTasks } from '../../agent/runner.js';
import { facts } from './fake-ctx.js';
import type { NetnsJob } from './netns.js';
import { withoutIpJson } from './old-iproute.js';

async function stdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of process.stdin) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

const job = JSON.parse(await stdin()) as NetnsJob;
const modules = new Map<string, AnyModule>();
for (const file of job.modules) {
  if (!/^[a-z_]+$/.test(file)) throw new Error(`not a module file name: ${file}`);
  const m = (await import(`../../agent/modules/${file}.js`)).default as AnyModule;
  modules.set(m.name, m);
}
const base = facts();
const hostFacts = { ...base, ...job.facts, os: { ...base.os, ...job.facts?.os }, root: job.root };
const opts = { check: job.check ?? false, diff: job.diff ?? false };
const run = job.noIpJson ? withoutIpJson(exec) : exec;
const ctx = { root: job.root, check: opts.check, exec: run, facts: hostFacts, kernel: new KernelState({ exec: run }) };
const results = await runTasks(job.tasks, modules, ctx, opts, () => {});
process.stdout.write(JSON.stringify(results));
