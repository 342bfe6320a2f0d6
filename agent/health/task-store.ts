import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { readText, writeAtomic } from '../fsutil.js';
import type { TaskRef } from './ipvs-hook.js';

/**
 * The arguments of each ipvs task the checker took over (`ipvs-tasks.json` in the agent's state
 * folder, beside health.json): what the agent re-runs when health moves a weight, also after a
 * restart with no controller to ask.
 */
export const TASK_FILE = 'ipvs-tasks.json';

export interface StoredTask {
  task?: TaskRef;
  /** The task's parsed arguments, parsed again by the module before each use. */
  args: Record<string, unknown>;
}

const fileSchema = z.object({
  version: z.literal(1),
  tasks: z.record(z.string(), z.object({ task: z.object({ name: z.string(), role: z.string().optional() }).optional(), args: z.record(z.string(), z.unknown()) })),
});

export async function loadTasks(stateDir: string): Promise<Map<string, StoredTask>> {
  const file = path.join(stateDir, TASK_FILE);
  const text = await readText(file);
  if (text === null) return new Map();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not JSON: ${(e as Error).message}`);
  }
  const r = fileSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`${file}: ${i.path.length ? i.path.join('.') : '(top)'}: ${i.message}`);
  }
  return new Map(Object.entries(r.data.tasks) as [string, StoredTask][]);
}

export async function saveTasks(stateDir: string, tasks: ReadonlyMap<string, StoredTask>): Promise<void> {
  await fs.mkdir(stateDir, { recursive: true, mode: 0o700 });
  await writeAtomic(path.join(stateDir, TASK_FILE), JSON.stringify({ version: 1, tasks: Object.fromEntries(tasks) }, null, 1) + '\n', 0o600);
}
