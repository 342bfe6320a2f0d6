import { LintResponseSchema } from '../common/api.js';
import { ERRORS, EXIT } from '../common/errors.js';
import { clientFor } from './client.js';
import { out } from './output.js';
import { runBody, type RunFlags } from './run-request.js';

/** `ctl lint [PLAYBOOK]`: the cluster check alone, every host rendered, nothing pushed. */
export async function lintCommand(target: string | undefined, flags: RunFlags): Promise<number> {
  const res = await (await clientFor(flags)).post('/api/lint', runBody('playbook', target ?? 'site.yml', flags), LintResponseSchema);
  if (flags.json) out(JSON.stringify(res, null, 2));
  else {
    for (const i of res.issues) process.stderr.write(`ERROR! ${i.host}: ${i.field}: ${i.message}\n`);
    out(`${res.issues.length ? 'refused' : 'ok'}: ${res.hosts.length} hosts, ${res.tasks} tasks, ${res.issues.length} problems`);
  }
  return res.issues.length ? ERRORS.CTL_ERR_CLUSTER_LINT.exit : EXIT.ok;
}
