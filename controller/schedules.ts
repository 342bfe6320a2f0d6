import { existsSync } from 'node:fs';
import path from 'node:path';
import cron, { type ScheduledTask } from 'node-cron';
import { CtlError } from '../common/errors.js';
import { silentLogger, type Logger } from '../common/log.js';
import { assertClusterWorks } from './lint.js';
import { planRun, type PlanEnv } from './plan-run.js';
import { loadPlaybook } from './playbook.js';
import type { RunManager } from './run-manager.js';
import { readYaml, seqItems } from './yaml-file.js';

export interface Schedule {
  name: string;
  cron: string;
  playbook: string;
  inventory: string[];
  hosts?: string;
  /** Drift check (check mode, the default) or an enforcing run that repairs drift. */
  check: boolean;
  /** `task_timeout` / `job_timeout`, seconds: as `--task-timeout` / `--job-timeout`. */
  taskTimeout?: number;
  jobTimeout?: number;
}

export interface ScheduleState extends Schedule {
  nextRun: string | null;
  lastRunId: string | null;
  lastError: string | null;
}

const KEYS = new Set(['name', 'cron', 'playbook', 'inventory', 'hosts', 'check', 'task_timeout', 'job_timeout']);
const seconds = (v: unknown) => typeof v === 'number' && v > 0 && v <= 7 * 86_400;

/**
 * `schedules.yml`: a list of `{name, cron, playbook, inventory, hosts?, check?}`. With the project
 * folder, each playbook is read and each inventory file must exist, so a schedule that could
 * never run refuses the controller's start instead of failing at 3 a.m.
 */
export async function loadSchedules(file: string, projectDir?: string): Promise<Schedule[]> {
  if (!existsSync(file)) return [];
  const y = await readYaml(file, 'CTL_ERR_PLAYBOOK_PARSE');
  if (y.value === null) return [];
  if (!Array.isArray(y.value)) throw new CtlError('CTL_ERR_PLAYBOOK_PARSE', 'schedules must be a list', { file, line: 1 });
  const names = new Set<string>();
  const schedules = seqItems(y).map(({ value, line }, i) => {
    const bad = (field: string, msg: string) => new CtlError('CTL_ERR_PLAYBOOK_PARSE', msg, { file, line, field });
    const s = (value ?? {}) as Record<string, unknown>;
    if (typeof s !== 'object' || Array.isArray(s)) throw bad('', `schedule ${i + 1} must be a mapping`);
    for (const k of Object.keys(s)) if (!KEYS.has(k)) throw bad(k, `unknown key (known: ${[...KEYS].join(', ')})`);
    if (typeof s.name !== 'string' || !s.name) throw bad('name', 'needs a name');
    if (names.has(s.name)) throw bad('name', `schedule '${s.name}' is defined twice`);
    names.add(s.name);
    if (typeof s.cron !== 'string' || !cron.validate(s.cron)) throw bad('cron', `'${String(s.cron)}' is not a cron expression like "*/15 * * * *"`);
    if (typeof s.playbook !== 'string') throw bad('playbook', 'needs a playbook file');
    const inventory = typeof s.inventory === 'string' ? [s.inventory] : s.inventory;
    if (!Array.isArray(inventory) || !inventory.length || inventory.some((x) => typeof x !== 'string')) throw bad('inventory', 'needs an inventory file or a list of them');
    if (s.hosts !== undefined && typeof s.hosts !== 'string') throw bad('hosts', 'must be a host pattern');
    if (s.check !== undefined && typeof s.check !== 'boolean') throw bad('check', 'must be true or false');
    for (const k of ['task_timeout', 'job_timeout'] as const) if (s[k] !== undefined && !seconds(s[k])) throw bad(k, `must be a number of seconds (0 < ${k} <= 604800)`);
    const limits = { ...(s.task_timeout !== undefined ? { taskTimeout: s.task_timeout as number } : {}), ...(s.job_timeout !== undefined ? { jobTimeout: s.job_timeout as number } : {}) };
    return { name: s.name, cron: s.cron, playbook: s.playbook, inventory: inventory as string[], ...(s.hosts ? { hosts: s.hosts as string } : {}), check: s.check ?? true, ...limits, line };
  });
  if (projectDir) {
    for (const { name, playbook, inventory, line } of schedules) {
      const bad = (field: string, msg: string) => new CtlError('CTL_ERR_PLAYBOOK_PARSE', `schedule '${name}': ${msg}`, { file, line, field });
      const at = (f: string) => (path.isAbsolute(f) ? f : path.join(projectDir, f));
      if (!existsSync(at(playbook))) throw bad('playbook', `playbook '${playbook}' does not exist (${at(playbook)})`);
      await loadPlaybook(at(playbook));
      const missing = inventory.find((f) => !existsSync(at(f)));
      if (missing) throw bad('inventory', `inventory '${missing}' does not exist (${at(missing)})`);
    }
  }
  return schedules.map(({ line: _line, ...s }) => s);
}

/** Runs each schedule with node-cron; an execution never overlaps the one before it. */
export class Scheduler {
  private readonly tasks = new Map<string, { task: ScheduledTask; state: ScheduleState }>();

  constructor(
    private readonly runs: RunManager,
    private readonly env: PlanEnv,
    private readonly log: Logger = silentLogger,
  ) {}

  start(schedules: Schedule[]): void {
    for (const s of schedules) {
      const state: ScheduleState = { ...s, nextRun: null, lastRunId: null, lastError: null };
      const task = cron.schedule(s.cron, () => this.fire(state), { name: s.name, noOverlap: true });
      this.tasks.set(s.name, { task, state });
    }
  }

  /** Starts the schedule's run now; resolves with its id once the run has been started. */
  async fire(state: ScheduleState): Promise<string | null> {
    try {
      const planned = await planRun({ kind: 'playbook', playbook: state.playbook, inventory: state.inventory, hosts: state.hosts, check: state.check, diff: true }, this.env);
      assertClusterWorks(planned, this.env.facts);
      planned.spec.kind = state.check ? 'drift' : 'playbook';
      planned.spec.origin = 'schedule';
      planned.spec.title = `schedule ${state.name}: ${planned.spec.title}${state.check ? ' (drift check)' : ''}`;
      if (state.taskTimeout) planned.spec.taskTimeoutMs = state.taskTimeout * 1000;
      if (state.jobTimeout) planned.spec.jobTimeoutMs = state.jobTimeout * 1000;
      const run = this.runs.start(planned.spec);
      state.lastRunId = run.id;
      state.lastError = null;
      return run.id;
    } catch (e) {
      state.lastError = e instanceof CtlError ? e.oneLine() : (e as Error).message;
      this.log.warn({ schedule: state.name, error: state.lastError }, 'schedule started no run');
      return null;
    }
  }

  list(): ScheduleState[] {
    return [...this.tasks.values()].map(({ task, state }) => ({ ...state, nextRun: task.getNextRun()?.toISOString() ?? null }));
  }

  async stop(): Promise<void> {
    for (const { task } of this.tasks.values()) await task.destroy();
    this.tasks.clear();
  }
}
