import type { DesiredState, DriftReport } from './desired-state.js';
import type { HealthReply, HealthTransitionWire } from './health-api.js';

/**
 * The controller <-> agent protocol: one typed file used by both sides (socket.io's typed
 * events). Bump PROTOCOL_VERSION on any incompatible change; the hub refuses other versions.
 */

export type { DesiredState, DriftReport };

export const PROTOCOL_VERSION = 1;

export type TaskStatus = 'ok' | 'changed' | 'failed' | 'skipped';

export interface InterfaceFact {
  name: string;
  ip4: string;
  ip4subnet: string;
  mac: string;
  operstate: string;
}

export type OsFamily = 'redhat' | 'debian' | 'other';
export type InitSystem = 'systemd' | 'sysv' | 'none';
export type PackageManager = 'dnf' | 'yum' | 'apt' | 'none';

export interface HostFacts {
  hostname: string;
  os: {
    platform: string;
    distro: string;
    release: string;
    /** Major version as a number, 0 when unknown (RHEL 6 -> 6, Debian 12 -> 12). */
    major: number;
    codename: string;
    kernel: string;
    arch: string;
    family: OsFamily;
  };
  initSystem: InitSystem;
  pkgManager: PackageManager;
  interfaces: InterfaceFact[];
  cpu: { brand: string; cores: number };
  memory: { total: number; free: number };
  root: string;
  agentVersion: string;
}

export interface Health {
  uptime: number;
  load1: number;
  memFree: number;
  memTotal: number;
  /** Tasks the agent is running now (0 or 1). */
  busy: number;
}

/** A task rendered by the controller for one host: concrete module arguments, no templates. */
export interface RenderedTask {
  name: string;
  module: string;
  args: Record<string, unknown>;
  /** Set when the controller decided (a false `when`) that the task does not run. */
  skip?: string;
  role?: string;
  /** The task's own time limit (role file `timeout:`, in seconds there); wins over the job's and the module's. */
  timeoutMs?: number;
}

/**
 * Facts the inventory decides for a host (`ansible_pkg_mgr`, `ansible_service_mgr`); they win over
 * what the agent detects, for the job they come with.
 */
export type FactsOverride = Partial<Pick<HostFacts, 'pkgManager' | 'initSystem'>>;

export interface RunJob {
  /** The job's id (one host's task list of one play), unique: the agent runs a job id once. */
  runId: string;
  host: string;
  tasks: RenderedTask[];
  check: boolean;
  diff: boolean;
  factsOverride?: FactsOverride;
  /** The controller's run this job belongs to (its journal is asked for by it after a restart). */
  run?: string;
  /**
   * How long after receiving the job the controller still waits for it, in ms of the agent's own
   * monotonic clock (relative, so clock skew does not matter): the agent never starts the job
   * after that, and stops it (as `run:cancel` with `now`) when it is reached.
   */
  ttlMs?: number;
  /** Time limit of each task without a `timeoutMs` of its own (`--task-timeout`); else the module's. */
  taskTimeoutMs?: number;
}

/**
 * The controller gave a job up or an operator cancelled its run: a job not started yet never
 * starts; a running one stops at its next task boundary, or at once (the running task's
 * processes killed) with `now`.
 */
export interface JobCancel {
  runId: string;
  reason: string;
  now: boolean;
}

/** What the agent's job journal (in its state folder) knows of one job. */
export interface JobRecord {
  /** The job id (RunJob.runId). */
  job: string;
  /** The controller's run (RunJob.run). */
  run: string;
  /** The agent's wall clock when the job came, for people reading it. */
  receivedAt: string;
  /** `not-started`: refused (a passed deadline, cancelled before its turn, the agent stopped). */
  state: 'queued' | 'running' | 'ended' | 'not-started';
  tasks: number;
  results: TaskResult[];
  error?: string;
  ms?: number;
}

export interface JournalQuery {
  run: string;
}

export interface Diff {
  before: string;
  after: string;
}

export interface TaskResult {
  index: number;
  name: string;
  module: string;
  role?: string;
  status: TaskStatus;
  msg?: string;
  diff?: Diff;
  ms: number;
}

export interface RunEnd {
  runId: string;
  host: string;
  ms: number;
  error?: string;
}

export interface AgentAuth {
  /** Only to an `--insecure-http` dev controller; over TLS the client certificate is the credential. */
  token?: string;
  /** A claim: over TLS the certificate's host is the agent's name, and a different claim is refused. */
  name: string;
  protocol: number;
  /** How often the agent sends heartbeats; the controller counts missed ones (default 5000). */
  heartbeatMs?: number;
}

export interface ServerToClientEvents {
  'run:start': (job: RunJob) => void;
  /** The host's held desired state (after each applying run, and at every connect). */
  'desired:set': (state: DesiredState) => void;
  'run:cancel': (cancel: JobCancel) => void;
  /** The agent's journal of the run's jobs (after a controller restart, to complete its record). */
  'job:journal': (query: JournalQuery, ack: (jobs: JobRecord[]) => void) => void;
  /** The operator's drained real server addresses (`ctl drain`), whole, at every connect and change. */
  'health:drained': (addresses: string[]) => void;
  /** Asks a director for its health checker's snapshot and the kernel's IPVS counters. */
  'health:snapshot': (ack: (reply: HealthReply) => void) => void;
}

export interface ClientToServerEvents {
  facts: (facts: HostFacts) => void;
  heartbeat: (health: Health) => void;
  'task:result': (runId: string, result: TaskResult) => void;
  'run:end': (end: RunEnd) => void;
  /** The drift watch's findings, whenever a check differs from the one before, and at every connect. */
  'drift:findings': (report: DriftReport) => void;
  /** A director's health checker saw or made a change (docs/HEALTH.md, Transitions). */
  'health:transition': (t: HealthTransitionWire) => void;
}
