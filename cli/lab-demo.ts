import path from 'node:path';
import { EXIT } from '../common/errors.js';
import { labPaths } from '../lab/paths.js';
import { labExec } from '../lab/exec.js';
import { readLabState, type LabMode } from '../lab/state.js';

const VIPS: Record<LabMode, string> = { nat: '172.25.254.100', tun: '172.25.7.100', dr: '172.25.7.200' };

/**
 * The main job on the embedded default, the local lab: boot (or reuse) the lab, build the
 * reference cluster of one mode with site.yml, then `curl VIP` six times from the client.
 */
export async function labDemo(
  o: { mode?: LabMode },
  run: (kind: 'playbook', target: string, flags: { inventory: string[] }) => Promise<number>,
  up: (o: { mode: LabMode }) => Promise<number>,
): Promise<number> {
  const mode = o.mode ?? readLabState()?.mode ?? 'dr';
  const booted = await up({ mode });
  if (booted !== EXIT.ok) return booted;
  const repo = labPaths().repo;
  const code = await run('playbook', path.join(repo, 'site.yml'), { inventory: [path.join(repo, `inventory/${mode}.yml`), path.join(repo, 'inventory/lab.yml')] });
  if (code !== EXIT.ok) return code;
  const vip = VIPS[mode];
  console.log(`\nfor i in 1..6: curl http://${vip}/ from client`);
  const answers: string[] = [];
  for (let n = 0; n < 6; n++) {
    const r = await labExec('client', ['curl', '-s', '-m', '10', `http://${vip}/`]);
    answers.push(r.code === 0 ? r.stdout.trim() : `(curl exit ${r.code})`);
    console.log(`  ${answers[n]}`);
  }
  const table = await labExec('server2', ['ipvsadm', '-ln']);
  console.log(`\nserver2# ipvsadm -ln\n${table.stdout.trimEnd()}`);
  console.log('\nThe lab stays up: ctl agents, ctl lab exec HOST -- CMD, ctl drift site.yml -i ..., ctl lab down.');
  const alternates = new Set(answers).size === 2 && answers.every((a, n) => n === 0 || a !== answers[n - 1]);
  return alternates ? EXIT.ok : EXIT.error;
}
