import path from 'node:path';
import { parseArgs } from 'node:util';
import { CtlError, EXIT, isCtlError } from '../common/errors.js';
import type { TaskResult } from '../common/protocol.js';
import type { AgentView } from '../controller/hub.js';
import type { Recap } from '../controller/run-manager.js';
import type { RunRecord } from '../controller/store.js';
import { age } from '../controller/routes/health-view.js';
import { Client, resolveEndpoint, type Endpoint } from './client.js';
import { parseExtraVars } from './extra-vars.js';
import { banner, recapLines, table, taskLine, unreachableLine } from './output.js';

const HELP = `usage:
  ctl controller start [--data DIR] [--port N] [--listen ADDR] [--token T] [--project DIR]
                      [--keep-runs N] [--keep-days D] [--keep-scheduled N]   run history bounds
  ctl run role ROLE --hosts PATTERN [-i INVENTORY] [--check] [--diff] [-e k=v ...]
  ctl run playbook FILE [--hosts PATTERN] [-i INVENTORY] [--check] [--diff] [-e k=v ...]
  ctl lint [PLAYBOOK] [-i INVENTORY ...]      the cluster check alone (default site.yml)
  ctl drift [PLAYBOOK] [-i INVENTORY ...]     check mode + diff; exit 6 when a host drifted
  ctl schedules                               drift checks the controller runs on a timer
  ctl agents [forget HOST]                    list agents; forget one that is gone
  ctl runs [show ID]
  ctl lab up [--mode nat|tun|dr] | status | down | exec HOST -- CMD...
  ctl lab demo [--mode nat|tun|dr]            lab up, site.yml for that mode, curl VIP from client
common: --controller URL --token TOKEN (or LVSCTL_URL, LVSCTL_TOKEN)`;

const DEFAULT_INVENTORY = process.env.LVSCTL_INVENTORY ?? 'inventory/lab.yml';

type Flags = Record<string, string | boolean | string[] | undefined>;

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        hosts: { type: 'string' },
        limit: { type: 'string', short: 'l' },
        inventory: { type: 'string', short: 'i', multiple: true },
        check: { type: 'boolean', short: 'C' },
        diff: { type: 'boolean', short: 'D' },
        'extra-vars': { type: 'string', short: 'e', multiple: true },
        controller: { type: 'string' },
        token: { type: 'string' },
        data: { type: 'string' },
        port: { type: 'string' },
        listen: { type: 'string' },
        project: { type: 'string' },
        'keep-runs': { type: 'string' },
        'keep-days': { type: 'string' },
        'keep-scheduled': { type: 'string' },
        mode: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new CtlError('CTL_ERR_USAGE', (e as Error).message.split('\n')[0]);
  }
}

async function labEndpoint(): Promise<(() => Endpoint | undefined) | undefined> {
  try {
    return (await import('../lab/state.js')).labEndpoint;
  } catch {
    return undefined;
  }
}

async function client(flags: Flags): Promise<Client> {
  return new Client(resolveEndpoint({ controller: flags.controller as string | undefined, token: flags.token as string | undefined }, await labEndpoint()));
}

function out(s: string): void {
  process.stdout.write(s + '\n');
}

function printRecap(recap: Record<string, Recap>): void {
  out('');
  out(banner('RECAP'));
  for (const l of recapLines(recap)) out(l);
}

function runBody(kind: 'role' | 'playbook', target: string, flags: Flags) {
  const hosts = (flags.hosts ?? flags.limit) as string | undefined;
  return {
    kind,
    ...(kind === 'role' ? { role: target } : { playbook: path.resolve(target) }),
    ...(hosts ? { hosts } : {}),
    inventory: ((flags.inventory as string[] | undefined) ?? [DEFAULT_INVENTORY]).map((f) => path.resolve(f)),
    extraVars: parseExtraVars((flags['extra-vars'] as string[] | undefined) ?? []),
    check: !!flags.check,
    diff: !!flags.diff,
  };
}

/** `ctl lint [PLAYBOOK]`: the cluster check alone, every host rendered, nothing pushed. */
async function lintCommand(target: string | undefined, flags: Flags): Promise<number> {
  const res = await (await client(flags)).post<{ issues: { host: string; field: string; message: string }[]; hosts: string[]; tasks: number }>(
    '/api/lint',
    runBody('playbook', target ?? 'site.yml', flags),
  );
  if (flags.json) out(JSON.stringify(res, null, 2));
  else {
    for (const i of res.issues) process.stderr.write(`ERROR! ${i.host}: ${i.field}: ${i.message}\n`);
    out(`${res.issues.length ? 'refused' : 'ok'}: ${res.hosts.length} hosts, ${res.tasks} tasks, ${res.issues.length} problems`);
  }
  return res.issues.length ? 4 : 0;
}

/**
 * `ctl drift [PLAYBOOK]`: the playbook in check mode with diffs. Exit 0 when every host is as
 * declared, 6 when something drifted (2 and 3 keep their meaning: failed, unreachable).
 */
async function driftCommand(target: string | undefined, flags: Flags): Promise<number> {
  const recap: Record<string, Recap> = {};
  const code = await runCommand('playbook', target ?? 'site.yml', { ...flags, check: true, diff: true }, recap);
  if (code !== EXIT.ok) return code;
  const drifted = Object.entries(recap).filter(([, r]) => r.changed > 0);
  out(drifted.length ? `DRIFT on ${drifted.map(([h, r]) => `${h} (${r.changed})`).join(', ')}` : 'no drift: every host is as declared');
  return drifted.length ? EXIT.drift : EXIT.ok;
}

async function schedulesCommand(flags: Flags): Promise<number> {
  const list = await (await client(flags)).get<{ name: string; cron: string; playbook: string; check: boolean; nextRun: string | null; lastRunId: string | null; lastError: string | null }[]>('/api/schedules');
  if (flags.json) return out(JSON.stringify(list, null, 2)), 0;
  const rows = [['NAME', 'CRON', 'KIND', 'NEXT', 'LAST RUN', 'PLAYBOOK']];
  for (const s of list) rows.push([s.name, s.cron, s.check ? 'drift' : 'enforce', s.nextRun ?? '-', s.lastError ? `error: ${s.lastError}` : (s.lastRunId ?? '-'), s.playbook]);
  out(list.length ? table(rows) : 'no schedules (add schedules.yml to the project)');
  return 0;
}

async function runCommand(kind: 'role' | 'playbook', target: string | undefined, flags: Flags, recapOut: Record<string, Recap> = {}): Promise<number> {
  if (!target) throw new CtlError('CTL_ERR_USAGE', `ctl run ${kind} needs a ${kind === 'role' ? 'role name' : 'playbook file'}`);
  if (kind === 'role' && !(flags.hosts ?? flags.limit)) throw new CtlError('CTL_ERR_USAGE', 'ctl run role needs --hosts PATTERN');
  const c = await client(flags);
  const started = await c.post<{ id: string; title: string }>('/api/runs', runBody(kind, target, flags));
  out(banner(`RUN [${started.title}]${flags.check ? ' (check mode)' : ''} id ${started.id}`));
  let recap: Record<string, Recap> = {};
  await c.stream(`/api/runs/${started.id}/events`, (e) => {
    const ev = e as { type: string; host: string; result: TaskResult; status: string; error?: string; recap: Record<string, Recap> };
    if (ev.type === 'result') out(taskLine(ev.host, ev.result, !!flags.diff));
    else if (ev.type === 'host' && ev.status === 'unreachable') out(unreachableLine(ev.host, ev.error ?? 'unreachable'));
    else if (ev.type === 'recap') recap = ev.recap;
  });
  Object.assign(recapOut, recap);
  printRecap(recap);
  const totals = Object.values(recap);
  if (totals.some((r) => r.failed > 0)) return EXIT.hostFailed;
  if (totals.some((r) => r.unreachable > 0)) return EXIT.hostUnreachable;
  return EXIT.ok;
}

async function agentsCommand(flags: Flags): Promise<number> {
  const agents = await (await client(flags)).get<AgentView[]>('/api/agents');
  if (flags.json) return out(JSON.stringify(agents, null, 2)), 0;
  const rows = [['HOST', 'STATE', 'HEARTBEAT', 'ADDRESS', 'OS', 'KERNEL']];
  for (const a of agents) {
    const f = a.facts as { os?: { distro?: string; release?: string; kernel?: string } } | undefined;
    rows.push([a.name, a.online ? 'online' : 'offline', a.heartbeatAgeMs === null ? 'never' : `${age(a.heartbeatAgeMs)} ago`, a.address ?? '', `${f?.os?.distro ?? ''} ${f?.os?.release ?? ''}`.trim(), f?.os?.kernel ?? '']);
  }
  out(agents.length ? table(rows) : 'no agent has connected yet');
  return 0;
}

/** `ctl agents forget HOST`: drops a gone agent's record and slot ledger (refused while it is connected). */
async function forgetCommand(host: string | undefined, flags: Flags): Promise<number> {
  if (!host) throw new CtlError('CTL_ERR_USAGE', 'ctl agents forget needs a host name');
  const res = await (await client(flags)).delete<{ forgotten: string; ledgerSlots: number }>(`/api/agents/${encodeURIComponent(host)}`);
  out(`forgot ${res.forgotten}${res.ledgerSlots ? ` and its ledger of ${res.ledgerSlots} role slot${res.ledgerSlots > 1 ? 's' : ''}` : ''}`);
  return 0;
}

async function runsCommand(args: string[], flags: Flags): Promise<number> {
  const c = await client(flags);
  if (args[0] === 'show') {
    if (!args[1]) throw new CtlError('CTL_ERR_USAGE', 'ctl runs show needs a run id');
    const run = await c.get<RunRecord & { recap: Record<string, Recap> }>(`/api/runs/${encodeURIComponent(args[1])}`);
    if (flags.json) return out(JSON.stringify(run, null, 2)), 0;
    out(banner(`RUN [${run.title}]${run.check ? ' (check mode)' : ''} id ${run.id} at ${run.createdAt}`));
    for (const [host, h] of Object.entries(run.hosts)) {
      for (const r of h.results) out(taskLine(host, r, run.diff));
      if (h.status === 'unreachable') out(unreachableLine(host, h.error ?? 'unreachable'));
    }
    printRecap(run.recap);
    return 0;
  }
  if (args[0]) throw new CtlError('CTL_ERR_USAGE', `unknown runs subcommand '${args[0]}'`);
  const runs = await c.get<{ id: string; title: string; check: boolean; createdAt: string; finishedAt: string | null; totals: Recap }[]>('/api/runs');
  if (flags.json) return out(JSON.stringify(runs, null, 2)), 0;
  const rows = [['ID', 'STARTED', 'STATE', 'OK', 'CHANGED', 'FAILED', 'UNREACHABLE', 'TITLE']];
  for (const r of runs) {
    const sum = (k: keyof Recap) => String(r.totals[k]);
    rows.push([r.id, r.createdAt.replace('T', ' ').slice(0, 19), r.finishedAt ? 'done' : 'running', sum('ok'), sum('changed'), sum('failed'), sum('unreachable'), r.title + (r.check ? ' (check)' : '')]);
  }
  out(runs.length ? table(rows) : 'no runs yet');
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  // The lab has its own flags (and `exec HOST -- CMD...`), so it parses its own arguments.
  if (argv[0] === 'lab') {
    const { labCommand } = await import('./lab-command.js');
    if (argv[1] === 'demo') {
      const { labDemo } = await import('./lab-demo.js');
      return labDemo(argv.slice(2), (kind, target, flags) => runCommand(kind, target, flags as Flags), labCommand);
    }
    return labCommand(argv.slice(1));
  }
  const { positionals, values: flags } = parse(argv);
  const [cmd, sub, ...rest] = positionals;
  if (flags.help || !cmd) return out(HELP), cmd ? 0 : EXIT.ok;
  switch (cmd) {
    case 'controller':
      if (sub !== 'start') throw new CtlError('CTL_ERR_USAGE', 'ctl controller start');
      // Loaded only here: the controller's dependencies would slow every other command.
      return (await import('./controller-command.js')).controllerStart(flags as Record<string, string | undefined>);
    case 'run':
      if (sub !== 'role' && sub !== 'playbook') throw new CtlError('CTL_ERR_USAGE', 'ctl run role ROLE --hosts PATTERN | ctl run playbook FILE');
      return runCommand(sub, rest[0], flags);
    case 'agents':
      if (sub === 'forget') return forgetCommand(rest[0], flags);
      if (sub) throw new CtlError('CTL_ERR_USAGE', `unknown agents subcommand '${sub}' (ctl agents [forget HOST])`);
      return agentsCommand(flags);
    case 'lint':
      return lintCommand(sub, flags);
    case 'drift':
      return driftCommand(sub, flags);
    case 'schedules':
      return schedulesCommand(flags);
    case 'runs':
      return runsCommand([sub, ...rest].filter(Boolean) as string[], flags);
    default:
      throw new CtlError('CTL_ERR_USAGE', `unknown command '${cmd}'\n${HELP}`);
  }
}

/** Runs ctl; resolves with the exit code, or undefined while a long-running command serves. */
export async function cli(argv: string[]): Promise<number | undefined> {
  try {
    process.exitCode = await main(argv);
  } catch (e) {
    if (isCtlError(e)) {
      process.stderr.write(`ERROR! ${e.oneLine()}\n`);
      process.exitCode = e.exitCode;
    } else {
      process.stderr.write(`ERROR! internal error: ${(e as Error).message}${process.env.CTL_DEBUG ? '\n' + (e as Error).stack : ' (set CTL_DEBUG=1 for details)'}\n`);
      process.exitCode = 250;
    }
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}
