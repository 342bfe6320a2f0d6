import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CtlError } from '../common/errors.js';

/**
 * `-e` as ansible-playbook takes it: `key=value` pairs (several per -e, split on spaces, values
 * are strings), a JSON or YAML mapping (`-e '{"weight": 2}'`), or `@file.yml`. Later ones win.
 */
export function parseExtraVars(list: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const raw of list) {
    const s = raw.trim();
    if (s.startsWith('@')) {
      const file = s.slice(1);
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        throw new CtlError('CTL_ERR_EXTRA_VAR', `cannot read extra vars file ${file}`, { file, field: '-e' });
      }
      Object.assign(out, asMapping(text, file));
    } else if (s.startsWith('{')) {
      Object.assign(out, asMapping(s, undefined));
    } else {
      for (const pair of s.split(/\s+(?=[A-Za-z_][A-Za-z0-9_]*=)/)) {
        const m = pair.match(/^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s);
        if (!m) throw new CtlError('CTL_ERR_EXTRA_VAR', `'${pair}' is not key=value, a JSON/YAML mapping or @file`, { field: '-e' });
        out[m[1]] = m[2].replace(/^(['"])(.*)\1$/s, '$2');
      }
    }
  }
  return out;
}

// The YAML parser costs ~40 ms to load; only -e with a mapping or @file needs it.
const require = createRequire(import.meta.url);

function asMapping(text: string, file: string | undefined): Record<string, unknown> {
  let v: unknown;
  try {
    v = (require('yaml') as typeof import('yaml')).parse(text, { logLevel: 'error' });
  } catch (e) {
    // yaml's message is "<what> at line L, column C:" followed by a code excerpt; keep the
    // whole sentence with its position, drop the excerpt.
    const pos = (e as { linePos?: { line: number; col: number }[] }).linePos?.[0];
    const what = (e as Error).message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    const at = pos ? ` (${file ? '' : `line ${pos.line}, `}column ${pos.col})` : '';
    const shown = text.length > 80 ? `${text.slice(0, 77)}...` : text;
    throw new CtlError('CTL_ERR_EXTRA_VAR', `${file ? '' : `'${shown}' `}is not a valid JSON or YAML mapping: ${what}${at}`, { file, ...(file && pos ? { line: pos.line } : {}), field: '-e' });
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new CtlError('CTL_ERR_EXTRA_VAR', 'extra vars must be a mapping', { file, field: '-e' });
  return v as Record<string, unknown>;
}
