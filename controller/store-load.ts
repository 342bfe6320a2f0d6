import { CtlError } from '../common/errors.js';
import { DurableFile, type TextFileAdapter } from './durable-file.js';
import { indexOrphans } from './run-history.js';
import type { StoreLog } from './store-health.js';
import type { JournalLine } from './run-journal.js';
import { journalFile, parseStore, STORE_VERSION, type StoreData } from './store-schema.js';

/**
 * The store's data as the folder holds it: store.json checked (refused, never reset, when it is
 * not a store this controller knows), a version 1 file's runs moved to journals, and journals
 * the index lost indexed again. `changed`: store.json must be written back.
 */
export async function loadStoreData(dataDir: string, file: TextFileAdapter, log: StoreLog): Promise<{ data: StoreData; changed: boolean }> {
  let text: string | null;
  try {
    text = await file.readText();
  } catch (e) {
    throw new CtlError('CTL_ERR_STORE', `cannot read: ${(e as Error).message}`, { file: file.file });
  }
  const { data, journals } = text === null ? { data: { version: STORE_VERSION, agents: {}, runs: [], ledger: {} } as StoreData, journals: new Map<string, JournalLine[]>() } : parseStore(text, file.file);
  // A migration writes the journals first: if it stops half-way, the old file is still there.
  try {
    for (const [id, lines] of journals) await new DurableFile(journalFile(dataDir, id)).writeText(lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  } catch (e) {
    throw new CtlError('CTL_ERR_STORE', `cannot move the runs of a version 1 store to journals: ${(e as Error).message}`, { file: file.file });
  }
  const orphans = await indexOrphans(dataDir, new Set(data.runs.map((r) => r.id)), log);
  if (orphans.length) data.runs = [...data.runs, ...orphans].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  return { data, changed: journals.size > 0 || orphans.length > 0 };
}
