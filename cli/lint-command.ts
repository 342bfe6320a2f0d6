import { CtlError, ERRORS, EXIT, isCtlError } from '../common/errors.js';
import type { HostFacts } from '../common/protocol.js';
import { Client, resolveEndpoint, type Endpoint } from './client.js';
import { sourceFile } from './source-file.js';
import { parseExtraVars } from './extra-vars.js';

type Flags = Record<string, string | boolean | string[] | undefined>;

const DEFAULT_INVENTORY = process.env.LVSCTL_INVENTORY ?? 'inventory/lab.yml';
const FACTS_TIMEOUT_MS = 5000;

async function labEndpoint(): Promise<(() => Endpoint | undefined) | undefined> {
  try {
    return (await import('../lab/state.js')).labEndpoint;
  } catch {
    return undefined;
  }
}

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
async function controllerFacts(flags: Flags): Promise<FactsSource> {
  const lab = await labEndpoint();
  const given = { controller: flags.controller as string | undefined, token: flags.token as string | undefined };
  // Where it would be, asked without the token first: with no controller there, a missing
  // token is not the news.
  const url = resolveEndpoint({ ...given, token: 'unused' }, lab).url;
  try {
    await within(FACTS_TIMEOUT_MS, new Client({ url, token: '' }).get('/api/health'));
    const agents = await within(FACTS_TIMEOUT_MS, new Client(resolveEndpoint(given, lab)).get<{ name: string; facts?: HostFacts }[]>('/api/agents'));
    const byName = new Map(agents.filter((a) => a.facts).map((a) => [a.name, a.facts!]));
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
export async function lintCommand(target: string | undefined, flags: Record<string, string | boolean | string[] | undefined>): Promise<number> {
  const hosts = (flags.hosts ?? flags.limit) as string | undefined;
  const request = {
    kind: 'playbook' as const,
    playbook: sourceFile(target ?? 'site.yml', 'playbook'),
    ...(hosts ? { hosts } : {}),
    inventory: ((flags.inventory as string[] | undefined) ?? [DEFAULT_INVENTORY]).map((f) => sourceFile(f, 'inventory')),
    extraVars: parseExtraVars((flags['extra-vars'] as string[] | undefined) ?? []),
  };
  const source = await controllerFacts(flags);
  // The controller's planning code, loaded only for this command (see docs/ARCHITECTURE.md).
  const { lintLocally } = await import('../controller/local-plan.js');
  const res = await lintLocally(request, process.cwd(), 'facts' in source ? source.facts : undefined);
  const skipped = res.skipped.map((s) => ({ ...s, reason: s.host || 'facts' in source ? s.reason : source.unavailable }));
  if (flags.json) process.stdout.write(JSON.stringify({ ...res, skipped }, null, 2) + '\n');
  else {
    for (const i of res.issues) process.stderr.write(`ERROR! ${i.host}: ${i.field}: ${i.message}\n`);
    for (const s of skipped) process.stdout.write(`skipped: ${s.rule}${s.host ? ` for ${s.host}` : ''} (${s.reason})\n`);
    process.stdout.write(`${res.issues.length ? 'refused' : 'ok'}: ${res.hosts.length} hosts, ${res.tasks} tasks, ${res.issues.length} problems\n`);
  }
  return res.issues.length ? ERRORS.CTL_ERR_CLUSTER_LINT.exit : EXIT.ok;
}
