import { age } from '../common/age.js';
import { AgentForgetResponseSchema, AgentListSchema } from '../common/api.js';
import { EXIT } from '../common/errors.js';
import { clientFor, type EndpointFlags } from './client.js';
import { out, table } from './output.js';

/** `ctl agents`: online state, heartbeat age, address, OS and kernel of every agent. */
export async function agentsCommand(flags: EndpointFlags & { json?: boolean }): Promise<number> {
  const agents = await (await clientFor(flags)).get('/api/agents', AgentListSchema);
  if (flags.json) return out(JSON.stringify(agents, null, 2)), EXIT.ok;
  const rows = [['HOST', 'STATE', 'HEARTBEAT', 'ADDRESS', 'OS', 'KERNEL']];
  for (const a of agents) {
    const os = a.facts?.os;
    rows.push([a.name, a.online ? 'online' : 'offline', a.heartbeatAgeMs === null ? 'never' : `${age(a.heartbeatAgeMs)} ago`, a.address ?? '', `${os?.distro ?? ''} ${os?.release ?? ''}`.trim(), os?.kernel ?? '']);
  }
  out(agents.length ? table(rows) : 'no agent has connected yet');
  return EXIT.ok;
}

/** `ctl agents forget HOST`: drops a gone agent's record and slot ledger (refused while it is connected). */
export async function agentsForget(host: string, flags: EndpointFlags & { json?: boolean }): Promise<number> {
  const res = await (await clientFor(flags)).delete(`/api/agents/${encodeURIComponent(host)}`, AgentForgetResponseSchema);
  if (flags.json) return out(JSON.stringify(res, null, 2)), EXIT.ok;
  out(`forgot ${res.forgotten}${res.ledgerSlots ? ` and its ledger of ${res.ledgerSlots} role slot${res.ledgerSlots > 1 ? 's' : ''}` : ''}`);
  return EXIT.ok;
}
