import { exec as realExec, type Exec } from '../common/exec.js';
import type { HealthReply, HealthTransitionWire } from '../common/health-api.js';
import type { Logger } from '../common/log.js';
import type { AgentExtension, AgentHost } from './agent.js';
import type { RealServerChange } from './health/adjust.js';
import { Coalescer } from './health/coalesce.js';
import type { HealthArgs } from './health/config.js';
import { healthSource, type IpvsHealth, type TaskRef } from './health/ipvs-hook.js';
import { HealthMonitor } from './health/monitor.js';
import type { RunCheck } from './health/scheduler.js';
import { loadTasks, saveTasks, type StoredTask } from './health/task-store.js';
import type { Clock } from './health/types.js';
import { readCounters } from './ipvs/counters.js';
import type { AnyModule, ModuleContext } from './module.js';
import ipvsModule from './modules/ipvs.js';
import { runOne } from './runner.js';

export interface HealthAgentOptions {
  /** The agent's state folder: health.json and ipvs-tasks.json. */
  stateDir: string;
  log: Logger;
  /** For exec checks and the kernel's counters. */
  exec?: Exec;
  clock?: Clock;
  runCheck?: RunCheck;
  applyRetryMs?: number;
  /** The module re-run when health moves a weight (the ipvs module). */
  module?: AnyModule;
  /** Transitions kept while the controller is unreachable, sent at the next connect. */
  bufferSize?: number;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * The health checker of a director's agent: runs the checks (HealthMonitor) with or without a
 * controller, lets the ipvs module plan against it, and when health moves a weight re-runs the
 * ipvs tasks it took over, with their last arguments, in the agent's job queue (so the kernel
 * table and the save file change, and nothing else, one writer at a time).
 */
export class HealthAgent implements AgentExtension, IpvsHealth {
  readonly monitor: HealthMonitor;
  private tasks = new Map<string, StoredTask>();
  private host: AgentHost | undefined;
  private readonly attached: Promise<AgentHost>;
  private onAttach!: (h: AgentHost) => void;
  private readonly pending: HealthTransitionWire[] = [];
  private dropped = 0;
  private readonly tasksWriter = new Coalescer(() => this.writeTasks());
  private readonly exec: Exec;
  private readonly module: AnyModule;

  constructor(private readonly o: HealthAgentOptions) {
    this.exec = o.exec ?? realExec;
    this.module = o.module ?? ipvsModule;
    this.attached = new Promise((resolve) => (this.onAttach = resolve));
    this.monitor = new HealthMonitor({
      stateDir: o.stateDir,
      exec: this.exec,
      ...(o.clock ? { clock: o.clock } : {}),
      ...(o.runCheck ? { runCheck: o.runCheck } : {}),
      ...(o.applyRetryMs !== undefined ? { applyRetryMs: o.applyRetryMs } : {}),
      apply: (_services, changed) => this.applyTable(changed),
      onTransition: (t) => this.transition(t),
      onError: (e) => o.log.error({ err: e.message }, 'health checker'),
    });
  }

  /** Reloads the tasks and the checker's state from the state folder; call before start(). */
  async restore(): Promise<void> {
    try {
      this.tasks = await loadTasks(this.o.stateDir);
    } catch (e) {
      this.o.log.error({ err: (e as Error).message }, 'health: cannot read the saved ipvs tasks; the next run brings them back');
    }
    if (await this.monitor.restore()) {
      this.o.log.info({ sources: this.monitor.sourceIds(), services: this.monitor.snapshot().services.length }, 'health checks restored');
    }
  }

  start(): void {
    this.monitor.start();
  }

  async stop(): Promise<void> {
    await this.monitor.stop();
    await this.tasksWriter.idle();
  }

  attach(host: AgentHost): void {
    this.host = host;
    host.socket.on('health:drained', (addresses) => this.setDrained(addresses));
    host.socket.on('health:snapshot', (ack) => void this.reply().then(ack));
    this.onAttach(host);
  }

  connected(): void {
    if (this.dropped) this.o.log.warn({ dropped: this.dropped }, 'health: transitions lost while the controller was unreachable');
    this.dropped = 0;
    const socket = this.host?.socket;
    while (socket?.connected && this.pending.length) socket.emit('health:transition', this.pending.shift()!);
  }

  context(): Partial<ModuleContext> {
    return { health: this };
  }

  preview(args: HealthArgs) {
    return this.monitor.preview(args);
  }

  holds(source: string, args: HealthArgs): boolean {
    const t = this.tasks.get(source);
    return !!t && this.monitor.sourceIds().includes(source) && JSON.stringify(t.args) === JSON.stringify(args);
  }

  configure(source: string, args: HealthArgs & { policy: string }, task: TaskRef | undefined): void {
    if (args.policy === 'purge') {
      // The task declares the whole table: what other tasks declared is purged with it.
      for (const other of new Set([...this.tasks.keys(), ...this.monitor.sourceIds()])) {
        if (other === source) continue;
        this.tasks.delete(other);
        this.monitor.unconfigure(other);
      }
    }
    const known = this.holds(source, args);
    this.tasks.set(source, { ...(task ? { task } : {}), args: JSON.parse(JSON.stringify(args)) as Record<string, unknown> });
    this.monitor.configure(args, source);
    if (!known) this.tasksWriter.request();
  }

  /** What `ctl status` shows of this director: the checker's snapshot and the kernel's counters. */
  async reply(): Promise<HealthReply> {
    const snapshot = this.monitor.snapshot();
    try {
      return { snapshot, kernel: await readCounters(this.exec) };
    } catch (e) {
      return { snapshot, kernel: null, kernelError: (e as Error).message };
    }
  }

  private setDrained(addresses: unknown): void {
    const list = Array.isArray(addresses) ? addresses.filter((a): a is string => typeof a === 'string' && IPV4.test(a)) : [];
    const now = this.monitor.view().drained;
    if (list.length === now.size && list.every((a) => now.has(a))) return;
    this.o.log.info({ drained: list }, 'health: drained set from the controller');
    this.monitor.setDrained(list);
  }

  private transition(t: HealthTransitionWire): void {
    const { kind, service, reason } = t;
    this.o.log.info({ kind, service, ...('realServer' in t ? { realServer: t.realServer } : {}), from: t.from, to: t.to, reason }, 'health transition');
    const socket = this.host?.socket;
    if (socket?.connected) {
      socket.emit('health:transition', t);
      return;
    }
    this.pending.push(t);
    if (this.pending.length > (this.o.bufferSize ?? 1000)) {
      this.pending.shift();
      this.dropped++;
    }
  }

  /** Re-runs every task the checker took over: its plan uses preview, so only moved servers and the save file change. */
  private async applyTable(changed: RealServerChange[]): Promise<void> {
    const host = await this.attached;
    const tasks = [...this.tasks];
    if (!tasks.length) throw new Error('no ipvs task arguments kept (ipvs-tasks.json); a run of the director role brings them back');
    await host.exclusive('health', async (ctx) => {
      for (const [source, t] of tasks) {
        const args = this.module.schema.parse(t.args);
        if (healthSource(t.task) !== source) throw new Error(`ipvs-tasks.json: task ${JSON.stringify(t.task)} is not source ${source}`);
        await runOne(this.module, args, { ...ctx, ...(t.task ? { task: t.task } : {}) }, { check: false, diff: false });
      }
    });
    const moved = changed.map((c) => `${c.service} ${c.realServer} ${c.from ?? 'absent'} -> ${c.to ?? 'absent'}`);
    this.o.log.info({ moved }, 'health: table applied');
  }

  private async writeTasks(): Promise<void> {
    await saveTasks(this.o.stateDir, this.tasks).catch((e: Error) => this.o.log.error({ err: e.message }, 'health: cannot save the ipvs tasks'));
  }
}
