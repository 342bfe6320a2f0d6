import { age } from '../common/age.js';
import { AgentCertListSchema, AgentForgetResponseSchema, AgentListSchema, type AgentCertList } from '../common/api.js';
import { EXIT, isCtlError } from '../common/errors.js';
import { clientFor, type Client, type EndpointFlags } from './client.js';
import { out, table } from './output.js';

/** Certificates and requests; none from an --insecure-http controller. */
async function certificates(client: Client): Promise<AgentCertList> {
  try {
    return await client.get('/api/agents/certificates', AgentCertListSchema);
  } catch (e) {
    if (isCtlError(e) && (e.code === 'CTL_ERR_NO_TLS' || e.code === 'CTL_ERR_ROUTE_NOT_FOUND')) return { certificates: [], requests: [] };
    throw e;
  }
}

/**
 * `ctl agents`: online state, heartbeat age, address, OS and kernel of every agent, its
 * certificate's expiry, and the hosts that are pending, rejected or revoked.
 */
export async function agentsCommand(flags: EndpointFlags & { json?: boolean }): Promise<number> {
  const client = await clientFor(flags);
  const agents = await client.get('/api/agents', AgentListSchema);
  if (flags.json) return out(JSON.stringify(agents, null, 2)), EXIT.ok;
  const certs = await certificates(client);
  const certOf = new Map(certs.certificates.map((c) => [c.host, c.state === 'revoked' ? 'revoked' : `expires ${c.notAfter?.slice(0, 10) ?? '?'}`]));
  const rows = [['HOST', 'STATE', 'HEARTBEAT', 'ADDRESS', 'OS', 'KERNEL', 'CERTIFICATE']];
  for (const a of agents) {
    const os = a.facts?.os;
    rows.push([a.name, a.online ? 'online' : 'offline', a.heartbeatAgeMs === null ? 'never' : `${age(a.heartbeatAgeMs)} ago`, a.address ?? '', `${os?.distro ?? ''} ${os?.release ?? ''}`.trim(), os?.kernel ?? '', certOf.get(a.name) ?? '']);
  }
  const listed = new Set(agents.map((a) => a.name));
  for (const c of certs.certificates) if (!listed.has(c.host)) rows.push([c.host, c.state === 'revoked' ? 'revoked' : 'never connected', '', '', '', '', certOf.get(c.host)!]);
  for (const r of certs.requests) rows.push([r.host, r.state === 'pending' ? 'pending (ctl agents accept)' : `request ${r.state}`, '', r.peer, '', '', `key ${r.key.slice(0, 16)}`]);
  out(rows.length > 1 ? table(rows) : 'no agent has connected yet');
  return EXIT.ok;
}

/** `ctl agents forget HOST`: drops a gone agent's record and slot ledger (refused while it is connected). */
export async function agentsForget(host: string, flags: EndpointFlags & { json?: boolean }): Promise<number> {
  const res = await (await clientFor(flags)).delete(`/api/agents/${encodeURIComponent(host)}`, AgentForgetResponseSchema);
  if (flags.json) return out(JSON.stringify(res, null, 2)), EXIT.ok;
  out(`forgot ${res.forgotten}${res.ledgerSlots ? ` and its ledger of ${res.ledgerSlots} role slot${res.ledgerSlots > 1 ? 's' : ''}` : ''}`);
  return EXIT.ok;
}
