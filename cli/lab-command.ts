import { CtlError, isCtlError } from '../common/errors.js';
import { labExec } from '../lab/exec.js';
import { LabError, labDown, labStatus, labUp } from '../lab/lab.js';
import { labPaths } from '../lab/paths.js';
import { LAB_MODES, type LabMode } from '../lab/state.js';
import { GUEST_ROOT, LAB_HOST_NAMES } from '../lab/topology.js';

const USAGE = `usage: ctl lab up [--mode nat|tun|dr] [--port N]
       ctl lab status
       ctl lab down
       ctl lab exec HOST -- CMD [ARGS...]     (HOST: ${[...LAB_HOST_NAMES, GUEST_ROOT].join(', ')})`;

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function parseUp(args: string[]): { mode?: LabMode; port?: number } {
  const out: { mode?: LabMode; port?: number } = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? args[++i];
      if (v === undefined) throw new CtlError('CTL_ERR_USAGE', `${flag} needs a value`);
      return v;
    };
    if (flag === '--mode') {
      const m = value();
      if (!(LAB_MODES as readonly string[]).includes(m)) throw new CtlError('CTL_ERR_USAGE', `--mode must be one of ${LAB_MODES.join(', ')}, not ${m}`);
      out.mode = m as LabMode;
    } else if (flag === '--port') {
      const v = value();
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < 1 || n > 65535) throw new CtlError('CTL_ERR_USAGE', `--port must be a TCP port, not ${v}`);
      out.port = n;
    } else {
      throw new CtlError('CTL_ERR_USAGE', `lab up: unknown argument ${a}`);
    }
  }
  return out;
}

async function up(args: string[]): Promise<number> {
  const o = parseUp(args);
  const log = (m: string): void => console.log(`lab: ${m}`);
  const r = await labUp({ ...o, log });
  const online = r.agents.filter((a) => a.online).length;
  console.log(
    `lab: ${r.reused ? 'already up' : 'up'} in ${secs(r.ms)}: mode ${r.mode}, kernel ${r.kernel}, guest pid ${r.qemuPid}, ` +
      `controller ${r.url}, ${online}/${LAB_HOST_NAMES.length} agents online`,
  );
  return 0;
}

async function status(): Promise<number> {
  const s = await labStatus(labPaths());
  if (!s.running) {
    console.log('lab: not running');
    return 3;
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
  return 0;
}

async function down(): Promise<number> {
  const r = await labDown({ paths: labPaths() });
  if (!r.guestStopped && !r.controllerStopped) console.log('lab: was not running; runtime files removed');
  else console.log(`lab: down (${[r.guestStopped && 'guest', r.controllerStopped && 'controller'].filter(Boolean).join(' and ')} stopped; kernel cache kept)`);
  return 0;
}

async function execCmd(args: string[]): Promise<number> {
  const host = args[0];
  const sep = args.indexOf('--');
  const argv = sep >= 0 ? args.slice(sep + 1) : args.slice(1);
  if (!host || host === '--' || argv.length === 0 || (sep >= 0 && sep !== 1)) {
    throw new CtlError('CTL_ERR_USAGE', 'lab exec HOST -- CMD [ARGS...]');
  }
  if (![...LAB_HOST_NAMES, GUEST_ROOT].includes(host)) {
    throw new CtlError('CTL_ERR_USAGE', `lab exec: unknown host ${host} (one of ${[...LAB_HOST_NAMES, GUEST_ROOT].join(', ')})`);
  }
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

/** `ctl lab ...`: returns the exit code; prints coded errors as one line, never a stack trace. */
export async function labCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case 'up':
        return await up(rest);
      case 'status':
        return await status();
      case 'down':
        return await down();
      case 'exec':
        return await execCmd(rest);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        console.log(USAGE);
        return sub === undefined ? 5 : 0;
      default:
        throw new CtlError('CTL_ERR_USAGE', `lab: unknown command ${sub}`);
    }
  } catch (e) {
    if (!isCtlError(e)) throw e;
    if (e instanceof LabError && e.details) console.error(e.details);
    if (e.code === 'CTL_ERR_USAGE') console.error(USAGE);
    // The one-line error itself is printed by ctl's own handler, as for every command.
    throw e;
  }
}
