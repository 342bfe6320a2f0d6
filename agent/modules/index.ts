import type { AnyModule } from '../module.js';
import file from './file.js';
import keyvalue from './keyvalue.js';
import sysctl from './sysctl.js';

/** The modules an agent runs; a task naming anything else fails validation. */
export const MODULES: ReadonlyMap<string, AnyModule> = new Map(
  [file, keyvalue, sysctl].map((m): [string, AnyModule] => [m.name, m]),
);
