import { timingSafeEqual } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { Socket } from 'socket.io';
import type { Logger } from '../common/log.js';
import { PROTOCOL_VERSION, type AgentAuth } from '../common/protocol.js';
import type { Pki } from './pki/pki.js';

export type AgentAuthResult =
  | { ok: true; host: string; serial?: string }
  | { ok: false; refusal: string; reason: string; definitive: boolean; serial?: string; host?: string };

export interface AgentHandshake {
  auth: Partial<AgentAuth>;
  /** The client certificate the TLS layer received (DER), if any. */
  peerCert: Uint8Array | undefined;
}

/** Decides who an agent connection is, before any of its events is heard. */
export type AgentAuthenticator = (h: AgentHandshake) => Promise<AgentAuthResult>;

/** What a refused agent is told in socket.io's `connect_error` (`err.data`). */
export interface AgentRefusalData {
  refusal: string;
  /** Asking again will not help until an operator acts: the agent backs off to minutes. */
  definitive: boolean;
}

export function tokensEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Mutual TLS: the host is the one the certificate names (`Pki.checkPeer`), never the one the
 * handshake claims; a claim that differs is refused. Revoked, superseded and foreign
 * certificates are refused here, so a live agent's connection is never replaced by them.
 */
export function certificateAuthenticator(pki: Pki): AgentAuthenticator {
  return async ({ auth, peerCert }) => {
    const claimed = typeof auth.name === 'string' ? auth.name : undefined;
    const r = await pki.checkPeer(peerCert, claimed !== undefined ? { claimed } : {});
    if (r.ok) return { ok: true, host: r.host, serial: r.serial };
    return { ok: false, refusal: r.refusal, reason: r.reason, definitive: r.definitive, ...(r.serial ? { serial: r.serial } : {}), ...(r.host ? { host: r.host } : {}) };
  };
}

/** The `--insecure-http` dev controller: a shared token, and the name the agent gives. */
export function tokenAuthenticator(token: string): AgentAuthenticator {
  return async ({ auth }) => {
    if (typeof auth.token !== 'string' || !tokensEqual(auth.token, token)) return { ok: false, refusal: 'token', reason: 'unauthorized: bad token', definitive: false };
    if (typeof auth.name !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(auth.name)) return { ok: false, refusal: 'bad-name', reason: 'bad agent name', definitive: false };
    return { ok: true, host: auth.name };
  };
}

function peerCertOf(socket: Socket): Uint8Array | undefined {
  const s = socket.request.socket as Partial<TLSSocket>;
  return typeof s.getPeerCertificate === 'function' ? s.getPeerCertificate(true)?.raw : undefined;
}

/**
 * socket.io middleware: authenticates, checks the protocol, and puts the host in
 * `socket.data.host` for the hub. A refusal is one warn line (reason, peer, claimed name,
 * certificate serial and host; never a token) and reaches the agent with its reason and
 * whether it is definitive.
 */
export function agentAuthMiddleware(authenticate: AgentAuthenticator, log: Logger, refused?: (r: { peer: string; agent?: string; reason: string }) => void) {
  return (socket: Socket, next: (err?: Error) => void): void => {
    const auth = (socket.handshake.auth ?? {}) as Partial<AgentAuth>;
    const peer = socket.handshake.address.replace(/^::ffff:/, '');
    const refuse = (r: Extract<AgentAuthResult, { ok: false }>): void => {
      // The name as given, cut short: it is untrusted input and may be anything.
      const claimed = typeof auth.name === 'string' ? auth.name.slice(0, 64) : undefined;
      log.warn(
        { peer, ...(claimed !== undefined ? { agent: claimed } : {}), refusal: r.refusal, reason: r.reason, ...(r.serial ? { serial: r.serial } : {}), ...(r.host ? { certHost: r.host } : {}), definitive: r.definitive },
        'agent refused',
      );
      const err = new Error(r.reason) as Error & { data?: AgentRefusalData };
      err.data = { refusal: r.refusal, definitive: r.definitive };
      refused?.({ peer, ...(claimed !== undefined ? { agent: claimed } : {}), reason: r.reason });
      next(err);
    };
    authenticate({ auth, peerCert: peerCertOf(socket) }).then(
      (r) => {
        if (!r.ok) return refuse(r);
        if (auth.protocol !== PROTOCOL_VERSION) return refuse({ ok: false, refusal: 'protocol', reason: `protocol ${auth.protocol} not supported (want ${PROTOCOL_VERSION})`, definitive: false });
        socket.data.host = r.host;
        socket.data.serial = r.serial;
        next();
      },
      (e: unknown) => {
        log.error({ peer, err: e }, 'agent authentication failed');
        next(new Error('internal error'));
      },
    );
  };
}
