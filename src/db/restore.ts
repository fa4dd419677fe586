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

function verify(file: string, what: string): void {
  const db = openDatabase(file, { readonly: true });
  try {
    const problems = integrityProblems(db);
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
  verify(backupFile, 'backup');

  const staging = `${target}.restored`;
  fs.rmSync(staging, { force: true });
  fs.copyFileSync(backupFile, staging);
  // The app opens atlas.db in WAL mode; the restored file must be too. Closing cleanly removes
  // the staging -wal and -shm again.
  const db = openDatabase(staging, { wal: true });
  try {
    const problems = integrityProblems(db);
    if (problems.length) throw new RestoreError(`staging copy ${staging} fails integrity_check: ${problems.slice(0, 3).join('; ')}`);
  } finally {
    db.close();
  }
  fsyncPath(staging);

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
  verify(target, 'restored database');
  return { restoredFrom: backupFile, target, keptAs, alreadyDone: false };
}
