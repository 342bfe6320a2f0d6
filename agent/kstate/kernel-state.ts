/**
 * Kernel and host state behind one layer: the tables of tables.ts, each read at most once while
 * it is valid, shared by every task that reads it.
 *
 * Lifetime. The agent makes one KernelState per run. Reads are memoized; the runner drops the
 * tables a module declares in `touches` after every apply (agent/runner.ts runOne), so a later
 * task plans against what the apply left, and no module clears anything itself.
 *
 * Drift watch. A watcher makes one KernelState per check (passing the same IpForms on, so the
 * JSON-or-text decision of old iproute2 is made once per agent, not per check) and runs its
 * tasks in check mode against it: every table costs one read per check, however many tasks
 * read it, and nothing is applied, so nothing is dropped. Only tables a task reads are read;
 * a cheap poll is a check whose tasks read few tables. `ip monitor` events map onto tables
 * (link -> links, address -> addresses, route -> routes); IPVS and /proc must be polled.
 *
 * A new table: its reader in this folder (one spawn or one /proc read, parsed into a typed
 * value), its read in SOURCES and its entry in TableValues and TABLES (tables.ts); modules that
 * change it list it in `touches`.
 */
import { readText } from '../fsutil.js';
import type { Exec } from '../../common/exec.js';
import { IpForms } from './iproute.js';
import { SOURCES, TABLES, type KernelIo, type Source, type Table, type TableValues } from './tables.js';

export class KernelState {
  private readonly io: KernelIo;
  private readonly reads = new Map<Source, Promise<unknown>>();
  private readonly promises = new Set<string>();

  constructor(
    io: { exec: Exec; readFile?: KernelIo['readFile'] },
    /** Which form of `ip` output works, per read; pass one on to keep the decision. */
    readonly forms: IpForms = new IpForms(),
  ) {
    this.io = { exec: io.exec, readFile: io.readFile ?? readText };
  }

  /** The table, read once until a `touches` of it drops it. A failed read is not kept. */
  read<T extends Table>(table: T): Promise<TableValues[T]> {
    const { source, view } = entry(table);
    let hit = this.reads.get(source);
    if (!hit) {
      const loading = this.load(source);
      hit = loading;
      this.reads.set(source, loading);
      loading.catch(() => {
        if (this.reads.get(source) === loading) this.reads.delete(source);
      });
    }
    return hit.then(view);
  }

  /**
   * The table as it is now, past the memo and without storing: for an apply that must see its
   * own effect (ipvsadm -R's exit status cannot be trusted; modprobe ipip must create tunl0).
   * The runner drops the touched tables afterwards anyway.
   */
  reread<T extends Table>(table: T): Promise<TableValues[T]> {
    const { source, view } = entry(table);
    return this.load(source).then(view);
  }

  /** Drops tables (and the tables read with them) so that the next read sees the host again. */
  invalidate(tables: readonly Table[]): void {
    for (const t of tables) this.reads.delete(TABLES[t].source);
  }

  /**
   * Check mode: what an earlier task of this run would have created (`link:tunl0`), so later
   * tasks that need it report their own change instead of failing on its absence.
   */
  promise(names: readonly string[]): void {
    for (const n of names) this.promises.add(n);
  }
  promised(name: string): boolean {
    return this.promises.has(name);
  }

  private load(source: Source): Promise<unknown> {
    return SOURCES[source](this.io, this.forms);
  }
}

function entry<T extends Table>(table: T): { source: Source; view: (v: unknown) => TableValues[T] } {
  return TABLES[table] as unknown as { source: Source; view: (v: unknown) => TableValues[T] };
}
