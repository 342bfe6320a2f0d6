import { CtlError } from '../common/errors.js';
import { HealthReplySchema, HealthTransitionSchema, type DirectorStatus, type DrainResponse, type HealthReply, type StatusResponse } from '../common/health-api.js';
import type { HostFacts } from '../common/protocol.js';
import { silentLogger, type Logger } from '../common/log.js';
import type { HealthRecords } from './health-records.js';
import { directorStatus } from './health-status.js';
import type { AgentHub } from './hub.js';

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * The addresses `ctl drain HOST` drains: HOST itself when it is an IPv4 address, else the
 * addresses its agent reported (not loopback, not the VIPs real servers hold on lo or tunl0).
 */
export function drainAddresses(host: string, facts: HostFacts | undefined): string[] {
  if (IPV4.test(host)) return [host];
  if (!facts) throw new CtlError('CTL_ERR_AGENT_NOT_FOUND', `no agent '${host}' has reported its addresses; drain it by address (ctl drain 172.25.7.3)`, { field: 'host' });
  const addresses = facts.interfaces.filter((i) => IPV4.test(i.ip4) && !/^(lo|tunl)/.test(i.name) && !i.ip4.startsWith('127.')).map((i) => i.ip4);
  if (!addresses.length) throw new CtlError('CTL_ERR_AGENT_NOT_FOUND', `agent '${host}' reported no address to drain; drain it by address`, { field: 'host' });
  return [...new Set(addresses)].sort();
}

/**
 * The controller's side of real-server health: stores every transition a director reports,
 * sends every agent the drained set at connect and when it changes (the store is the source of
 * truth), and asks directors for their snapshot and counters for `ctl status` and the live view.
 */
export class HealthHub {
  /** Hosts that answered a snapshot with services: listed by status also while they do not answer. */
  private readonly directors = new Set<string>();

  constructor(
    private readonly hub: AgentHub,
    private readonly records: HealthRecords,
    private readonly facts: (host: string) => HostFacts | undefined,
    private readonly log: Logger = silentLogger,
    private readonly snapshotTimeoutMs = 10_000,
  ) {
    hub.onAgent((host, socket) => {
      socket.on('health:transition', (t) => this.received(host, t));
      socket.emit('health:drained', records.drainedAddresses());
    });
  }

  private received(host: string, t: unknown): void {
    const r = HealthTransitionSchema.safeParse(t);
    if (!r.success) {
      this.log.warn({ agent: host, issue: r.error.issues[0]?.message }, 'health transition refused: not a transition');
      return;
    }
    this.directors.add(host);
    const e = this.records.addEvent(host, r.data);
    this.log.info({ agent: host, kind: e.kind, service: e.service, ...('realServer' in e ? { realServer: e.realServer } : {}), reason: e.reason }, 'health transition');
  }

  /** Sends the drained set to every connected agent; the names it went to. */
  private pushDrained(): string[] {
    const set = this.records.drainedAddresses();
    const sent = this.hub.online().filter((h) => this.hub.socketOf(h)?.emit('health:drained', set));
    this.log.info({ drained: set, sentTo: sent }, 'drained set sent');
    return sent;
  }

  drain(host: string): DrainResponse {
    const addresses = drainAddresses(host, this.facts(host));
    const changed = this.records.drain(host, addresses);
    return { host, addresses, changed, sentTo: this.pushDrained() };
  }

  undrain(host: string): DrainResponse {
    const was = this.records.undrain(host);
    return { host, addresses: was?.addresses ?? [], changed: !!was, sentTo: was ? this.pushDrained() : [] };
  }

  /** One director's snapshot and counters; rejects when it is not connected or does not answer. */
  async reply(host: string): Promise<HealthReply> {
    const socket = this.hub.socketOf(host);
    if (!socket) throw new Error('not connected');
    let answer: unknown;
    try {
      answer = await socket.timeout(this.snapshotTimeoutMs).emitWithAck('health:snapshot');
    } catch {
      throw new Error(`no answer within ${this.snapshotTimeoutMs / 1000} s`);
    }
    const r = HealthReplySchema.safeParse(answer);
    if (!r.success) throw new Error(`answer is not a health snapshot (${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message})`);
    return r.data;
  }

  /** Every director: connected agents whose checker or kernel holds services, and known ones that do not answer. */
  async status(): Promise<StatusResponse> {
    const known = new Set([...this.directors, ...this.records.reportingHosts()]);
    const hosts = [...new Set([...this.hub.online(), ...known])].sort();
    const rows = await Promise.all(
      hosts.map(async (host): Promise<DirectorStatus | undefined> => {
        try {
          const d = directorStatus(host, await this.reply(host));
          if (!d.services.length) return known.has(host) ? d : undefined;
          this.directors.add(host);
          return d;
        } catch (e) {
          return known.has(host) ? { host, error: (e as Error).message, drained: [], services: [] } : undefined;
        }
      }),
    );
    return { directors: rows.filter((d): d is DirectorStatus => !!d), drained: this.records.drained() };
  }
}
