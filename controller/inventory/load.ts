import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { CtlError } from '../../common/errors.js';
import { textLines } from './build.js';
import { parseIni } from './ini.js';
import type { Inventory } from './types.js';
import { parseYamlInventory } from './yaml.js';

const YAML_EXTENSIONS = new Set(['.yml', '.yaml', '.json']);

/**
 * YAML when the extension says so; otherwise INI, unless the first meaningful line can only be
 * YAML (`---`, or a top-level `key:` followed by a space or nothing, which INI rejects as a host).
 */
export function looksLikeYaml(file: string, text: string): boolean {
  if (YAML_EXTENSIONS.has(extname(file).toLowerCase())) return true;
  for (const raw of textLines(text)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    return line === '---' || line.startsWith('%YAML') || /^[^\s\[\]=#;:]+:(\s|$)/.test(raw.trimEnd()) || /^[{]/.test(line);
  }
  return false;
}

export function parseInventory(text: string, file: string): Inventory {
  return looksLikeYaml(file, text) ? parseYamlInventory(text, file) : parseIni(text, file);
}

export async function loadInventory(file: string): Promise<Inventory> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new CtlError('CTL_ERR_INVENTORY_NOT_FOUND', `inventory file ${file} does not exist`, { file });
    }
    if (code === 'EISDIR') {
      throw new CtlError('CTL_ERR_INVENTORY_NOT_FOUND', `inventory ${file} is a directory; give an inventory file`, { file });
    }
    throw new CtlError('CTL_ERR_INVENTORY_PARSE', `inventory file ${file} cannot be read (${code ?? (e as Error).message})`, { file });
  }
  return parseInventory(text, file);
}
