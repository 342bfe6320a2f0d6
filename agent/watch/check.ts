import type { Finding } from '../../common/findings.js';
import type { RenderedTask } from '../../common/protocol.js';
import { failureFinding, findingsOf } from '../findings.js';
import type { AnyModule, ModuleContext } from '../module.js';
import { prepare, runOne } from '../runner.js';

/**
 * Checks a task list in check mode and returns its findings. Unlike a run, a task that cannot be
 * checked does not stop the others: nothing is applied, so each task's finding stands alone.
 * Give it a fresh KernelState per check, so every table is read once per check.
 */
export async function checkFindings(tasks: RenderedTask[], modules: ReadonlyMap<string, AnyModule>, ctx: ModuleContext): Promise<Finding[]> {
  const checkCtx: ModuleContext = { ...ctx, check: true };
  const out: Finding[] = [];
  for (const p of prepare(tasks, modules)) {
    const ref = { name: p.task.name, module: p.task.module, ...(p.task.role ? { role: p.task.role } : {}) };
    if (p.task.skip) continue;
    if (p.error) {
      out.push(failureFinding(ref, p.error));
      continue;
    }
    try {
      // The task's identity, as a run gives it: the health checker knows its declarations by it.
      const task = { name: p.task.name, ...(p.task.role ? { role: p.task.role } : {}) };
      const { plan, observed } = await runOne(p.module!, p.args, { ...checkCtx, task }, { check: true, diff: false });
      out.push(...findingsOf(ref, p.module, p.args, observed, plan));
    } catch (e) {
      out.push(failureFinding(ref, (e as Error).message));
    }
  }
  return out;
}
