import { CtlError } from '../common/errors.js';
import type { Vars } from './template.js';
import { lineAt, readYaml, seqItems, type YamlFile } from './yaml-file.js';

export interface Play {
  name: string;
  hosts: string;
  roles: string[];
  vars: Vars;
  file?: string;
  line?: number;
  /** Line of each entry of `roles`, for errors about one role. */
  roleLines?: (number | undefined)[];
}

const PLAY_KEYS = new Set(['name', 'hosts', 'roles', 'vars']);

/** A `site.yml`-style playbook: plays, in order, each mapping roles to a host pattern. */
export async function loadPlaybook(file: string): Promise<Play[]> {
  return parsePlaybook(await readYaml(file, 'CTL_ERR_PLAYBOOK_PARSE'));
}

/** A playbook already parsed (also one `ctl` sent by content). */
export function parsePlaybook(y: YamlFile): Play[] {
  const file = y.file;
  if (!Array.isArray(y.value)) throw new CtlError('CTL_ERR_PLAYBOOK_PARSE', 'a playbook must be a list of plays', { file, line: 1 });
  return seqItems(y).map(({ value, line, node }, i) => {
    const where = (field: string) => ({ file, line, field });
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new CtlError('CTL_ERR_PLAYBOOK_PARSE', `play ${i + 1} must be a mapping`, { file, line });
    const p = value as Record<string, unknown>;
    for (const k of Object.keys(p)) if (!PLAY_KEYS.has(k)) throw new CtlError('CTL_ERR_PLAYBOOK_PARSE', `unknown play key '${k}' (known: ${[...PLAY_KEYS].join(', ')})`, where(k));
    if (typeof p.hosts !== 'string' || !p.hosts.trim()) throw new CtlError('CTL_ERR_PLAYBOOK_PARSE', 'play needs hosts: PATTERN', where('hosts'));
    const roles = (p.roles ?? []) as unknown;
    if (!Array.isArray(roles) || roles.some((r) => typeof r !== 'string' && !(r && typeof r === 'object' && typeof (r as { role?: unknown }).role === 'string'))) {
      throw new CtlError('CTL_ERR_PLAYBOOK_PARSE', 'roles must be a list of role names', where('roles'));
    }
    if (p.vars !== undefined && (typeof p.vars !== 'object' || Array.isArray(p.vars) || p.vars === null)) {
      throw new CtlError('CTL_ERR_PLAYBOOK_PARSE', 'vars must be a mapping', where('vars'));
    }
    return {
      name: typeof p.name === 'string' ? p.name : `play ${i + 1}`,
      hosts: p.hosts,
      roles: roles.map((r) => (typeof r === 'string' ? r : (r as { role: string }).role)),
      vars: (p.vars as Vars | undefined) ?? {},
      file,
      line,
      roleLines: roles.map((_r, j) => lineAt(y, node, ['roles', String(j)])),
    };
  });
}
