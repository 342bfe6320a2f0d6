/**
 * The controller <-> agent protocol: one typed file used by both sides (socket.io's typed
 * events). Bump PROTOCOL_VERSION on any incompatible change; the hub refuses other versions.
 */
import type { DesiredState, DriftReport } from './desired-state.js';
import type { IpvsReport } from './ipvs-report.js';

export type { DesiredState, DriftReport, IpvsReport };

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
}

/**
 * Facts the inventory decides for a host (`ansible_pkg_mgr`, `ansible_service_mgr`); they win over
 * what the agent detects, for the job they come with.
 */
export type FactsOverride = Partial<Pick<HostFacts, 'pkgManager' | 'initSystem'>>;

export interface RunJob {
  runId: string;
  host: string;
  tasks: RenderedTask[];
  check: boolean;
  diff: boolean;
  factsOverride?: FactsOverride;
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
  token: string;
  name: string;
  protocol: number;
  /** How often the agent sends heartbeats; the controller counts missed ones (default 5000). */
  heartbeatMs?: number;
}

export interface ServerToClientEvents {
  'run:start': (job: RunJob) => void;
  /** The host's held desired state (after each applying run, and at every connect). */
  'desired:set': (state: DesiredState) => void;
}

export interface ClientToServerEvents {
  facts: (facts: HostFacts) => void;
  heartbeat: (health: Health) => void;
  'task:result': (runId: string, result: TaskResult) => void;
  'run:end': (end: RunEnd) => void;
  /** The drift watch's findings, whenever a check differs from the one before, and at every connect. */
  'drift:findings': (report: DriftReport) => void;
  /** A director's live IPVS table and counters, when they changed. */
  'ipvs:report': (report: IpvsReport) => void;
}
