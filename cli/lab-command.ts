import { EXIT } from '../common/errors.js';
import { labExec } from '../lab/exec.js';
import { LabError, labDown, labStatus, labUp } from '../lab/lab.js';
import { labPaths } from '../lab/paths.js';
import type { LabMode } from '../lab/state.js';
import { LAB_HOST_NAMES } from '../lab/topology.js';

// The lab's subcommands and their options are declared in cli/lab-program.ts (commander).

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** A failed boot carries the guest console's tail: print it before ctl prints the one-line error. */
async function withDetails(fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof LabError && e.details) console.error(e.details);
    throw e;
  }
}

export function up(o: { mode?: LabMode; port?: number }): Promise<number> {
  return withDetails(async () => {
    const log = (m: string): void => console.log(`lab: ${m}`);
    const r = await labUp({ ...o, log });
    const online = r.agents.filter((a) => a.online).length;
    console.log(
      `lab: ${r.reused ? 'already up' : 'up'} in ${secs(r.ms)}: mode ${r.mode}, kernel ${r.kernel}, guest pid ${r.qemuPid}, ` +
        `controller ${r.url}, ${online}/${LAB_HOST_NAMES.length} agents online`,
    );
    return EXIT.ok;
  });
}

export async function status(): Promise<number> {
  const s = await labStatus(labPaths());
  if (!s.running) {
    console.log('lab: not running');
    return EXIT.labNotRunning;
  }
  const up = s.uptimeS !== undefined ? `, up ${Math.round(s.uptimeS)} s` : '';
  console.log(`guest:      pid ${s.qemuPid}${up}, kernel ${s.state!.kernel}, since ${s.state!.startedAt}`);
  console.log(`mode:       ${s.state!.mode}`);
  console.log(`controller: ${s.url} (${s.controller}${s.state!.controllerPid ? `, pid ${s.state!.controllerPid}` : ', not started by the lab'})`);
  for (const name of LAB_HOST_NAMES) {
    const a = s.agents.find((x) => x.name === name);
    const kernel = a?.facts?.os?.kernel ? ` kernel ${a.facts.os.kernel}` : '';
    const beat = a?.lastHeartbeat ? ` last heartbeat ${String(a.lastHeartbeat)}` : '';
    console.log(`agent:      ${name.padEnd(8)} ${a ? (a.online ? 'online' : 'offline') : 'unknown'}${kernel}${beat}`);
  }
  return EXIT.ok;
}

export async function down(): Promise<number> {
  const r = await labDown({ paths: labPaths() });
  if (!r.guestStopped && !r.controllerStopped) console.log('lab: was not running; runtime files removed');
  else console.log(`lab: down (${[r.guestStopped && 'guest', r.controllerStopped && 'controller'].filter(Boolean).join(' and ')} stopped; kernel cache kept)`);
  return EXIT.ok;
}

/** `ctl lab exec HOST -- CMD...`: exits with the command's own exit code. */
export async function execCmd(host: string, argv: string[]): Promise<number> {
  // Standard input goes to the command when it is not a terminal (`echo hi | ctl lab exec ...`).
  const input = process.stdin.isTTY ? undefined : await readStdin();
  const r = await labExec(host, argv, { timeoutMs: 600_000, ...(input !== undefined ? { input } : {}) });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  return r.code;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
