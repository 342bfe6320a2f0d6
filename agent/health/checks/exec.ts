import type { Exec } from '../../../common/exec.js';
import type { ExecCheck } from '../schema.js';
import type { CheckResult, CheckTarget } from '../types.js';
import { timeoutReason } from './reasons.js';

/**
 * The whole environment of an exec check: the target and a fixed PATH. Nothing of the agent's
 * own environment is passed on, so no token or key a script could log leaks to it.
 */
export function checkEnv(target: CheckTarget): Record<string, string> {
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    LANG: 'C',
    LVS_RS_ADDR: target.address,
    LVS_RS_PORT: String(target.port),
    LVS_PROTOCOL: target.protocol,
    ...(target.vip !== undefined ? { LVS_VIP: target.vip } : {}),
    ...(target.vport !== undefined ? { LVS_VPORT: String(target.vport) } : {}),
    ...(target.fwmark !== undefined ? { LVS_FWMARK: String(target.fwmark) } : {}),
  };
}

/**
 * MISC_CHECK: the argv run on the director, exit 0 healthy. No shell; empty stdin; cwd /;
 * at the timeout the whole process group is killed, so nothing the script started lingers.
 */
export async function execCheck(check: Pick<ExecCheck, 'argv' | 'timeout'>, target: CheckTarget, run: Exec): Promise<CheckResult> {
  const [file, ...args] = check.argv;
  const r = await run(file, args, { env: checkEnv(target), timeoutMs: check.timeout * 1000, killGroup: true, input: '', cwd: '/' });
  if (r.timedOut) return { ok: false, reason: timeoutReason(check.timeout) };
  if (r.code === 0) return { ok: true, detail: 'exit 0' };
  if (r.code === 127 && r.stderr === `${file}: command not found`) return { ok: false, reason: `not found: ${file}` };
  return { ok: false, reason: `exit ${r.code}` };
}
