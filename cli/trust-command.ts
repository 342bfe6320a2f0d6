import { X509Certificate } from 'node:crypto';
import path from 'node:path';
import {
  AcceptResponseSchema,
  AgentCertListSchema,
  ApiTokenCreatedSchema,
  ApiTokenListSchema,
  ApiTokenRevokedSchema,
  EnrollTokenCreatedSchema,
  PendingListSchema,
  RejectResponseSchema,
  RevokeResponseSchema,
} from '../common/api.js';
import { CtlError, EXIT } from '../common/errors.js';
import { clientFor, type EndpointFlags } from './client.js';
import { out, table } from './output.js';

type Flags = EndpointFlags & { json?: boolean; data?: string };

/** `90s`, `30m`, `1h`, `7d`, or a number of seconds. */
export function parseTtl(text: string): number {
  const m = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  const n = m ? Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'] : NaN;
  if (!(n > 0)) throw new CtlError('CTL_ERR_USAGE', `'${text}' is not a duration (90s, 30m, 1h, 7d)`, { field: '--ttl' });
  return n;
}

function wholeNumber(text: string | undefined, field: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new CtlError('CTL_ERR_USAGE', `must be a whole number from 1, got '${text}'`, { field });
  return Number(text);
}

/** The data folder's own API tokens, for `--data` (the controller's code, loaded only here). */
async function localTokens(data: string) {
  const { ApiTokens } = await import('../controller/auth/api-tokens.js');
  return ApiTokens.open(path.resolve(data));
}

export async function tokenCreate(name: string, flags: Flags): Promise<number> {
  const res = flags.data ? { name, token: await (await localTokens(flags.data)).create(name) } : await (await clientFor(flags)).post('/api/tokens', { name }, ApiTokenCreatedSchema);
  if (flags.json) return out(JSON.stringify(res, null, 2)), EXIT.ok;
  out(`API token '${res.name}' (shown once; only its hash is kept):`);
  out(`  ${res.token}`);
  return EXIT.ok;
}

export async function tokenRevoke(name: string, flags: Flags): Promise<number> {
  if (flags.data) await (await localTokens(flags.data)).revoke(name);
  else await (await clientFor(flags)).delete(`/api/tokens/${encodeURIComponent(name)}`, ApiTokenRevokedSchema);
  out(`API token '${name}' revoked`);
  return EXIT.ok;
}

export async function tokenList(flags: Flags): Promise<number> {
  const list = flags.data ? (await localTokens(flags.data)).list() : await (await clientFor(flags)).get('/api/tokens', ApiTokenListSchema);
  if (flags.json) return out(JSON.stringify(list, null, 2)), EXIT.ok;
  out(list.length ? table([['NAME', 'CREATED'], ...list.map((t) => [t.name, t.createdAt])]) : 'no API tokens');
  return EXIT.ok;
}

/** `ctl agents token`: a one-time enrollment token, and how a new host uses it. */
export async function agentsToken(flags: EndpointFlags & { hosts?: string; ttl?: string; uses?: string; json?: boolean }): Promise<number> {
  const client = await clientFor(flags);
  const ttlSeconds = flags.ttl === undefined ? undefined : parseTtl(flags.ttl);
  const uses = wholeNumber(flags.uses, '--uses');
  const res = await client.post('/api/enroll-tokens', { ...(flags.hosts ? { hosts: flags.hosts } : {}), ...(ttlSeconds ? { ttlSeconds } : {}), ...(uses ? { uses } : {}) }, EnrollTokenCreatedSchema);
  if (flags.json) return out(JSON.stringify(res, null, 2)), EXIT.ok;
  out(`enrollment token ${res.id} for hosts '${res.hosts}', ${res.uses} use${res.uses > 1 ? 's' : ''}, valid until ${res.expiresAt} (shown once):`);
  out(`  ${res.token}`);
  const fp = client.ep.ca ? new X509Certificate(client.ep.ca).fingerprint256 : 'SHA256-OF-THE-CA';
  out('on the new host, put it in a 0600 file (umask 077; cat > /root/enroll-token), then:');
  out(`  agent --controller ${client.ep.url} --ca-fingerprint ${fp} --enroll-token-file /root/enroll-token`);
  return EXIT.ok;
}

export async function agentsPending(flags: Flags): Promise<number> {
  const list = await (await clientFor(flags)).get('/api/agents/pending', PendingListSchema);
  if (flags.json) return out(JSON.stringify(list, null, 2)), EXIT.ok;
  out(list.length ? table([['HOST', 'FROM', 'REQUESTED', 'KEY SHA-256'], ...list.map((r) => [r.host, r.peer, r.requestedAt, r.key])]) : 'no pending enrollment requests');
  return EXIT.ok;
}

export async function agentsDecide(verb: 'accept' | 'reject' | 'revoke', host: string, flags: Flags): Promise<number> {
  const client = await clientFor(flags);
  const p = `/api/agents/${encodeURIComponent(host)}/${verb}`;
  if (verb === 'accept') {
    const r = await client.post(p, {}, AcceptResponseSchema);
    out(`accepted ${r.host}: certificate ${r.serial}, valid until ${r.notAfter} (the agent collects it on its next attempt)`);
  } else if (verb === 'reject') {
    const r = await client.post(p, {}, RejectResponseSchema);
    out(`rejected the request of ${r.host}: that key stays refused`);
  } else {
    const r = await client.post(p, {}, RevokeResponseSchema);
    out(`revoked ${r.host}: ${r.serials.length} certificate${r.serials.length === 1 ? '' : 's'}${r.disconnected ? ', its connection closed' : ''}; refused from now on`);
  }
  return EXIT.ok;
}

export async function agentsCerts(flags: Flags): Promise<number> {
  const res = await (await clientFor(flags)).get('/api/agents/certificates', AgentCertListSchema);
  if (flags.json) return out(JSON.stringify(res, null, 2)), EXIT.ok;
  const rows = [['HOST', 'STATE', 'SERIAL', 'EXPIRES', 'SINCE']];
  for (const c of res.certificates) rows.push([c.host, c.state, c.serial ?? '', c.notAfter ?? '', c.revokedAt ?? c.enrolledAt]);
  for (const r of res.requests) rows.push([r.host, r.state === 'pending' ? 'pending' : `request ${r.state}`, '', '', r.decidedAt ?? r.requestedAt]);
  out(rows.length > 1 ? table(rows) : 'no certificates issued and no requests');
  return EXIT.ok;
}
