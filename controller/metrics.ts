import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { AgentStateSchema, RunLabelSchema, type ViewAgent, type ViewDirector, type ViewSnapshot } from '../common/view.js';

/** Run outcomes counted at their end (`running` is not an end). */
export const RUN_END_STATUSES = ['ok', 'changed', 'failed', 'unreachable', 'cancelled'] as const;
export type RunEndStatus = (typeof RUN_END_STATUSES)[number];

/** Task durations: no-op checks take milliseconds, a package install minutes. */
const TASK_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

const RS_LABELS = ['director', 'service', 'realserver'] as const;

/**
 * The controller's Prometheus metrics in a registry of their own (not prom-client's global
 * default, so two controllers in one process, as in tests, do not share series). Gauges are
 * set from plain snapshots; counters and the histogram from events as they happen.
 */
export class ControllerMetrics {
  readonly registry = new Registry();
  private readonly agents = new Gauge({ name: 'lvsctl_agents', help: 'Agents by state.', labelNames: ['state'], registers: [this.registry] });
  private readonly runs = new Counter({
    name: 'lvsctl_runs_total',
    help: 'Finished runs by status and label (intentional: asked by an operator; corrective: repaired drift).',
    labelNames: ['status', 'label'],
    registers: [this.registry],
  });
  private readonly taskSeconds = new Histogram({
    name: 'lvsctl_task_duration_seconds',
    help: 'Duration of each task result reported by the agents.',
    labelNames: ['module', 'status'],
    buckets: TASK_BUCKETS,
    registers: [this.registry],
  });
  private readonly findings = new Gauge({ name: 'lvsctl_drift_findings_open', help: 'Open drift findings per host.', labelNames: ['host'], registers: [this.registry] });
  private readonly rsUp = new Gauge({
    name: 'lvsctl_realserver_up',
    help: 'Health check result of a real server: 1 up, 0 down (absent when it has no check).',
    labelNames: RS_LABELS,
    registers: [this.registry],
  });
  private readonly rsWeight = new Gauge({
    name: 'lvsctl_realserver_weight',
    help: 'Weight of a real server: as declared, and live in the kernel (health and drain adjust it).',
    labelNames: [...RS_LABELS, 'kind'],
    registers: [this.registry],
  });
  private readonly activeConn = new Gauge({ name: 'lvsctl_ipvs_active_connections', help: 'IPVS ActiveConn of a real server.', labelNames: RS_LABELS, registers: [this.registry] });
  private readonly inactConn = new Gauge({ name: 'lvsctl_ipvs_inactive_connections', help: 'IPVS InActConn of a real server.', labelNames: RS_LABELS, registers: [this.registry] });
  private readonly connRate = new Gauge({
    name: 'lvsctl_ipvs_connection_rate',
    help: 'New connections per second to a real server (ipvsadm --rate CPS).',
    labelNames: RS_LABELS,
    registers: [this.registry],
  });
  private readonly serviceRate = new Gauge({
    name: 'lvsctl_ipvs_service_connection_rate',
    help: 'New connections per second to a virtual service (ipvsadm --rate CPS).',
    labelNames: ['director', 'service'],
    registers: [this.registry],
  });

  constructor() {
    // Counters start at 0 for every outcome, so rate() sees the first run of each kind.
    for (const status of RUN_END_STATUSES) for (const label of RunLabelSchema.options) this.runs.inc({ status, label }, 0);
  }

  setAgents(agents: readonly Pick<ViewAgent, 'state'>[]): void {
    for (const state of AgentStateSchema.options) this.agents.set({ state }, agents.filter((a) => a.state === state).length);
  }

  /** Open findings per host; hosts known but clean are set to 0 rather than left out. */
  setOpenFindings(counts: Readonly<Record<string, number>>, hosts: readonly string[] = []): void {
    this.findings.reset();
    for (const host of new Set([...hosts, ...Object.keys(counts)])) this.findings.set({ host }, counts[host] ?? 0);
  }

  /** Every director's services; series of real servers no longer there go away. */
  setDirectors(directors: readonly ViewDirector[]): void {
    for (const g of [this.rsUp, this.rsWeight, this.activeConn, this.inactConn, this.connRate, this.serviceRate]) g.reset();
    for (const d of directors) {
      for (const s of d.services) {
        if (s.connRate !== null) this.serviceRate.set({ director: d.host, service: s.key }, s.connRate);
        for (const r of s.realServers) {
          const l = { director: d.host, service: s.key, realserver: r.address };
          if (r.health.state !== 'unknown') this.rsUp.set(l, r.health.state === 'up' ? 1 : 0);
          this.rsWeight.set({ ...l, kind: 'declared' }, r.weight.declared);
          if (r.weight.live !== null) this.rsWeight.set({ ...l, kind: 'live' }, r.weight.live);
          if (r.activeConn !== null) this.activeConn.set(l, r.activeConn);
          if (r.inactConn !== null) this.inactConn.set(l, r.inactConn);
          if (r.connRate !== null) this.connRate.set(l, r.connRate);
        }
      }
    }
  }

  /** All gauges from one view snapshot. */
  fromView(view: Pick<ViewSnapshot, 'agents' | 'directors'>): void {
    this.setAgents(view.agents);
    this.setOpenFindings(Object.fromEntries(view.agents.map((a) => [a.name, a.findings.length])));
    this.setDirectors(view.directors);
  }

  recordRun(run: { status: RunEndStatus; label: (typeof RunLabelSchema.options)[number] }): void {
    this.runs.inc({ status: run.status, label: run.label });
  }

  observeTask(task: { module: string; status: string; ms: number }): void {
    this.taskSeconds.observe({ module: task.module, status: task.status }, task.ms / 1000);
  }

  /** The exposition text for GET /metrics, and its content type. */
  async exposition(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}
