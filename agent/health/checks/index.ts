import { exec as realExec, type Exec } from '../../../common/exec.js';
import type { Check } from '../schema.js';
import type { CheckResult, CheckTarget } from '../types.js';
import { execCheck } from './exec.js';
import { httpCheck } from './http.js';
import { tcpCheck } from './tcp.js';

/** Runs one check of any type; the scheduler's default `runCheck`. Never rejects. */
export async function runCheck(check: Check, target: CheckTarget, deps: { exec?: Exec } = {}): Promise<CheckResult> {
  try {
    switch (check.type) {
      case 'http':
        return await httpCheck(check, target);
      case 'tcp':
        return await tcpCheck(check, target);
      case 'exec':
        return await execCheck(check, target, deps.exec ?? realExec);
      case 'none':
        return { ok: true, detail: 'no check' };
    }
  } catch (e) {
    return { ok: false, reason: `error: ${(e as Error).message}` };
  }
}
