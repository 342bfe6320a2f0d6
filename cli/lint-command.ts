import { AgentListSchema, HealthResponseSchema } from '../common/api.js';
import { CtlError, ERRORS, EXIT, isCtlError } from '../common/errors.js';
import type { HostFacts } from '../common/protocol.js';
import { Client, labEndpoint, resolveEndpoint, resolveUrl } from './client.js';
import { resolveCa } from './endpoint.js';
import { out } from './output.js';
import { runBody, type RunFlags } from './run-request.js';

const FACTS_TIMEOUT_MS = 5000;

type FactsSource = { facts: (host: string) => HostFacts | undefined } | { unavailable: string };

/** A controller that hangs counts as unreachable: facts are a bonus for lint. */
function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CtlError('CTL_ERR_CONTROLLER_UNREACHABLE', `no answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** The agents' facts from the controller, or why there are none (lint goes on without them). */
async function controllerFacts(flags: RunFlags): Promise<FactsSource> {
  const lab = (await labEndpoint())?.();
  const given = { controller: flags.controller, tokenFile: flags.tokenFile, ca: flags.ca };
  // Where it would be, asked without the token first: with no controller there, a missing
  // token is not the news.
  const url = resolveUrl(given, lab);
  try {
    const ca = resolveCa(given, url, lab);
    await within(FACTS_TIMEOUT_MS, new Client({ url, token: '', ...(ca ? { ca } : {}) }).get('/api/health', HealthResponseSchema));
    const agents = await within(FACTS_TIMEOUT_MS, new Client(resolveEndpoint(given, lab)).get('/api/agents', AgentListSchema));
    const byName = new Map(agents.filter((a) => a.facts).map((a) => [a.name, a.facts as HostFacts]));
    return { facts: (h) => byName.get(h) };
  } catch (e) {
    if (isCtlError(e) && e.code === 'CTL_ERR_CONTROLLER_UNREACHABLE') return { unavailable: `no controller reachable at ${url}` };
    // Whatever else answered (a wrong token, another service on that port), lint goes on.
    return { unavailable: `no facts from ${url}: ${(e as Error).message}` };
  }
}

/**
 * `ctl lint [PLAYBOOK]`: the cluster check alone, like `ansible-playbook --syntax-check`. The
 * plan is rendered here from the project's files (the current folder, as `controller start`
 * takes it), so it works with no controller; the checks that need facts (the director's
 * interfaces) run when a controller can give them and are reported skipped otherwise.
 */
export async function lintCommand(target: string | undefined, flags: RunFlags): Promise<number> {
  const request = runBody('playbook', target ?? 'site.yml', flags);
  const source = await controllerFacts(flags);
  // The controller's planning code, loaded only for this command (see docs/ARCHITECTURE.md).
  const { lintLocally } = await import('../controller/local-plan.js');
  const res = await lintLocally(request, process.cwd(), 'facts' in source ? source.facts : undefined);
  const skipped = res.skipped.map((s) => ({ ...s, reason: s.host || 'facts' in source ? s.reason : source.unavailable }));
  if (flags.json) out(JSON.stringify({ ...res, skipped }, null, 2));
  else {
    for (const i of res.issues) process.stderr.write(`ERROR! ${i.host}: ${i.field}: ${i.message}\n`);
    for (const s of skipped) out(`skipped: ${s.rule}${s.host ? ` for ${s.host}` : ''} (${s.reason})`);
    out(`${res.issues.length ? 'refused' : 'ok'}: ${res.hosts.length} hosts, ${res.tasks} tasks, ${res.issues.length} problems`);
  }
  return res.issues.length ? ERRORS.CTL_ERR_CLUSTER_LINT.exit : EXIT.ok;
}
