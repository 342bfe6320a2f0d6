import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { CtlError, type ErrorWhere } from '../common/errors.js';
import { lineAt, readYaml } from './yaml-file.js';

const NAME = /^[a-z0-9][a-z0-9_-]*$/;
const name = z.string({ error: 'must be a role or slot name' }).regex(NAME, 'must be a role or slot name');

export const CLUSTER_PARTS = ['director', 'realserver'] as const;
export const CLUSTER_MODES = ['nat', 'tun', 'dr'] as const;

/**
 * What a role is in an LVS cluster, so the cluster check never guesses it from the role's name:
 * a director (its mode, when it has one, is the forwarding method it declares) or a real server
 * of one forwarding mode.
 */
const cluster = z
  .object({
    part: z.enum(CLUSTER_PARTS, { error: `must be one of ${CLUSTER_PARTS.join(', ')}` }),
    mode: z.enum(CLUSTER_MODES, { error: `must be one of ${CLUSTER_MODES.join(', ')}` }).optional(),
  }, { error: 'must be a mapping like { part: realserver, mode: dr }' })
  .strict()
  .refine((c) => c.part !== 'realserver' || c.mode !== undefined, { message: 'a realserver needs its mode (nat, tun or dr)', path: ['mode'] });

const metaSchema = z
  .object({
    /** Roles that are alternatives of each other share a slot. */
    slot: name.optional(),
    /** A role built on another: the base's tasks with this role's defaults on top. */
    base: name.optional(),
    cluster: cluster.optional(),
  }, { error: 'meta.yml must be a mapping' })
  .strict();

export type ClusterRole = z.infer<typeof cluster>;
export type RoleMeta = z.infer<typeof metaSchema>;


export interface LoadedMeta extends RoleMeta {
  /** Where meta.yml says a key, for errors about its value (a `base` that does not exist). */
  at?: (key: string) => ErrorWhere;
}

/** `meta.yml` of a role folder ({} when there is none), validated with file, line and field in errors. */
export async function loadMeta(dir: string): Promise<LoadedMeta> {
  const file = path.join(dir, 'meta.yml');
  if (!existsSync(file)) return {};
  const y = await readYaml(file, 'CTL_ERR_ROLE_PARSE');
  if (y.value === null) return {};
  const parsed = metaSchema.safeParse(y.value);
  if (parsed.success) return { ...parsed.data, at: (key) => ({ file, line: y.root ? lineAt(y, y.root, [key]) : 1, field: key }) };
  const issue = parsed.error.issues[0];
  const at = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path;
  const message =
    issue.code === 'unrecognized_keys'
      ? `unknown key '${issue.keys[0]}' (known: ${Object.keys(at.length > 1 ? cluster.shape : metaSchema.shape).join(', ')})`
      : issue.message;
  throw new CtlError('CTL_ERR_ROLE_PARSE', message, { file, line: y.root ? lineAt(y, y.root, at.map(String)) : 1, ...(at.length ? { field: at.join('.') } : {}) });
}
