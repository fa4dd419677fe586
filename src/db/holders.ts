// Which processes hold a file open, read from /proc (the runbook's `ps aux | grep sqlite`, made
// precise). Used by `atlas-ops doctor db` and before every swap of atlas.db
// (docs/safety.md#no-swap-under-a-live-writer); it only reports, it never signals a process.
import path from 'node:path';
import { processesWithOpen, procUser } from '../proc';
import { DATABASE_FILE_SUFFIXES } from './sqlite';
import { describeHolders, type FileHolder } from '../workflow-safe/db-holders';
import { failure } from '../workflow-safe/failures';

export type { FileHolder };

export function processesHolding(files: readonly string[], procDir = '/proc'): FileHolder[] {
  const wanted = new Set(files.map((f) => path.resolve(f)));
  return processesWithOpen((target) => wanted.has(target), procDir).map(({ pid, command, targets }) => ({ pid, command, user: procUser(pid, procDir), files: targets }));
}

/** Every process but `ignorePid` (this worker) holding a database or its -wal/-shm open. */
export function databaseHolders(file: string, ignorePid = process.pid): FileHolder[] {
  return processesHolding(DATABASE_FILE_SUFFIXES.map((s) => `${file}${s}`)).filter((h) => h.pid !== ignorePid);
}

/**
 * The last check before a rename puts a file in place of `file`: a process that still holds it
 * would go on writing into the replaced inode, and those writes would be lost.
 */
export function refuseSwapWhileHeld(file: string): void {
  const holders = databaseHolders(file);
  if (holders.length) {
    throw failure.DbHeld(`${path.basename(file)} is held open by ${describeHolders(holders)}; it was not replaced (the staging file is kept)`, { details: [holders] });
  }
}
