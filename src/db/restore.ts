// Restores atlas.db from a backup the way Litestream does: verify the source, write to a staging
// file beside the target, verify, fsync, keep what is replaced, rename into place, fsync the folder.
import fs from 'node:fs';
import path from 'node:path';
import { assertSqliteFile, fsyncPath, integrityProblems, openDatabase } from './sqlite';

export class RestoreError extends Error {
  override name = 'RestoreError';
}

export interface RestoreOptions {
  backupFile: string;
  target: string;
  /** The replaced database (and its -wal/-shm) is kept as `<target>.<keepSuffix>`. */
  keepSuffix: string;
}

export interface RestoreResult {
  restoredFrom: string;
  target: string;
  keptAs: string[];
  alreadyDone: boolean;
}

const SIDECARS = ['', '-wal', '-shm'] as const;

function verify(file: string, what: string, pragma: 'integrity_check' | 'quick_check' = 'integrity_check'): void {
  const db = openDatabase(file, { readonly: true });
  try {
    const problems = integrityProblems(db, pragma);
    if (problems.length) throw new RestoreError(`${what} ${file} fails integrity_check: ${problems.slice(0, 3).join('; ')}`);
  } finally {
    db.close();
  }
}

/** Idempotent: when the replaced file was already kept and the target is sound, it does nothing. */
export function restoreBackup(options: RestoreOptions): RestoreResult {
  const { backupFile, target, keepSuffix } = options;
  const kept = `${target}.${keepSuffix}`;
  const dir = path.dirname(target);
  if (fs.existsSync(kept) && fs.existsSync(target)) {
    verify(target, 'restored database');
    return { restoredFrom: backupFile, target, keptAs: SIDECARS.map((s) => `${kept}${s}`).filter((f) => fs.existsSync(f)), alreadyDone: true };
  }
  assertSqliteFile(backupFile, 'backup');

  // The integrity check runs once, on the staging copy: it holds the backup's bytes, so a backup
  // that fails it is refused exactly as before, and nothing beside the staging file was touched.
  // (Checking the backup and then its copy doubled the time of a 1 GB restore.)
  const staging = `${target}.restored`;
  fs.rmSync(staging, { force: true });
  fs.copyFileSync(backupFile, staging);
  try {
    // The app opens atlas.db in WAL mode; the restored file must be too. Closing cleanly removes
    // the staging -wal and -shm again.
    const db = openDatabase(staging, { wal: true, privateFile: true });
    try {
      const problems = integrityProblems(db);
      if (problems.length) throw new RestoreError(`backup ${backupFile} fails integrity_check: ${problems.slice(0, 3).join('; ')}`);
    } finally {
      db.close();
    }
    fsyncPath(staging);
  } catch (err) {
    for (const s of SIDECARS) fs.rmSync(`${staging}${s}`, { force: true });
    if (err instanceof RestoreError) throw err;
    throw new RestoreError(`backup ${backupFile} cannot be opened: ${(err as Error).message}`);
  }

  const keptAs: string[] = [];
  for (const suffix of SIDECARS) {
    const from = `${target}${suffix}`;
    if (fs.existsSync(from)) {
      fs.renameSync(from, `${kept}${suffix}`);
      keptAs.push(`${kept}${suffix}`);
    }
  }
  fs.renameSync(staging, target);
  fsyncPath(dir);
  // The same inode that passed integrity_check a moment ago: quick_check confirms it opens in place.
  verify(target, 'restored database', 'quick_check');
  return { restoredFrom: backupFile, target, keptAs, alreadyDone: false };
}
