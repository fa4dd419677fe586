// Restores atlas.db from a backup the way Litestream does: verify the source, write to a staging
// file beside the target, verify, fsync, keep what is replaced, rename into place, fsync the folder.
import fs from 'node:fs';
import path from 'node:path';
import { checkIntegrity, whileTicking } from './integrity';
import type { ReplicatorControl } from '../replication/control';
import { assertSqliteFile, DATABASE_FILE_SUFFIXES, fsyncPath, fsyncPathAsync, NotSqliteError } from './sqlite';

/**
 * Which check refused the restore: the backup's, before anything was moved (the target is
 * unchanged), or the restored database's, after the swap (the replaced one is kept beside it).
 * Anything else (an I/O error while moving files) is thrown as it is: a retry resumes the restore.
 */
export type RestoreStage = 'verify-backup' | 'verify-restored';

export class RestoreError extends Error {
  override name = 'RestoreError';
  constructor(
    readonly stage: RestoreStage,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface RestoreOptions {
  backupFile: string;
  target: string;
  /** The replaced database (and its -wal/-shm) is kept as `<target>.<keepSuffix>`. */
  keepSuffix: string;
  /** Called about every second while copying and checking (an activity's heartbeat). */
  onTick?: () => void;
  /** Called right before the rename; throws to refuse the swap, leaving the verified staging file in place. */
  beforeSwap?: () => void;
  /**
   * The replicator, stopped before `beforeSwap` (Litestream itself holds atlas.db open) and started
   * again after the swap from the new file (docs/safety.md#checkpoints-and-swaps); a refused swap
   * starts it again as it was.
   */
  replicator?: ReplicatorControl;
}

export interface RestoreResult {
  restoredFrom: string;
  target: string;
  keptAs: string[];
  alreadyDone: boolean;
}

/** A file that is not SQLite at `stage` refuses the restore there, with the same message. */
async function refusedAt<T>(stage: RestoreStage, check: () => T | Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (err) {
    if (err instanceof NotSqliteError) throw new RestoreError(stage, err.message, { cause: err });
    throw err;
  }
}

/** The check of the database in place after the swap. */
async function verifyRestored(file: string, options: { pragma?: 'integrity_check' | 'quick_check'; onTick?: () => void }): Promise<void> {
  const what = 'restored database';
  const { problems } = await refusedAt('verify-restored', () => checkIntegrity(file, { ...options, field: what }));
  if (problems.length) throw new RestoreError('verify-restored', `${what} ${file} fails ${options.pragma ?? 'integrity_check'}: ${problems.slice(0, 3).join('; ')}`);
}

/** Copies the backup to `staging` and checks the copy; a backup that fails leaves no staging file. */
async function stage(backupFile: string, staging: string, onTick?: () => void): Promise<void> {
  fs.rmSync(staging, { force: true });
  await whileTicking(fs.promises.copyFile(backupFile, staging), onTick);
  try {
    // The app opens atlas.db in WAL mode; the restored file must be too (switched in the check's
    // connection, whose clean close removes the staging -wal and -shm again).
    const { problems } = await checkIntegrity(staging, { readonly: false, wal: true, privateFile: true, onTick, field: 'backup' });
    if (problems.length) throw new RestoreError('verify-backup', `backup ${backupFile} fails integrity_check: ${problems.slice(0, 3).join('; ')}`);
    await fsyncPathAsync(staging);
  } catch (err) {
    for (const s of DATABASE_FILE_SUFFIXES) fs.rmSync(`${staging}${s}`, { force: true });
    if (err instanceof RestoreError) throw err;
    throw new RestoreError('verify-backup', `backup ${backupFile} cannot be opened: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Idempotent: when the replaced file was already kept and the target is sound, it does nothing.
 * Copies and checks without blocking the process; `onTick` (a heartbeat) is called meanwhile.
 */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  const { backupFile, target, keepSuffix, onTick, beforeSwap, replicator } = options;
  const kept = `${target}.${keepSuffix}`;
  const dir = path.dirname(target);
  if (fs.existsSync(kept) && fs.existsSync(target)) {
    await verifyRestored(target, { onTick });
    // A retry after the swap: the replicator may not have been started again yet.
    await replicator?.resume({ swapped: true });
    return { restoredFrom: backupFile, target, keptAs: DATABASE_FILE_SUFFIXES.map((s) => `${kept}${s}`).filter((f) => fs.existsSync(f)), alreadyDone: true };
  }
  await refusedAt('verify-backup', () => assertSqliteFile(backupFile, 'backup'));

  // The integrity check runs once, on the staging copy: it holds the backup's bytes, so a backup
  // that fails it is refused exactly as before, and nothing beside the staging file was touched.
  // (Checking the backup and then its copy doubled the time of a 1 GB restore.)
  const staging = `${target}.restored`;
  // A staging copy verified by an earlier call that `beforeSwap` refused (a process held the
  // target) is used as it is: waiting for the holder must not cost a second copy and check.
  const stagedMark = `${staging}.verified`;
  const source = fs.statSync(backupFile);
  const stagedFrom = JSON.stringify({ backupFile, size: source.size, mtimeMs: source.mtimeMs });
  if (!(fs.existsSync(staging) && fs.existsSync(stagedMark) && fs.readFileSync(stagedMark, 'utf8') === stagedFrom)) {
    fs.rmSync(stagedMark, { force: true });
    await stage(backupFile, staging, onTick);
    fs.writeFileSync(stagedMark, stagedFrom);
  }

  const keptAs: string[] = [];
  // Litestream holds atlas.db open too: it is stopped before the holder check, not named as a holder.
  await replicator?.pause();
  let swapped = false;
  try {
    beforeSwap?.();
    for (const suffix of DATABASE_FILE_SUFFIXES) {
      const from = `${target}${suffix}`;
      if (fs.existsSync(from)) {
        swapped = true;
        fs.renameSync(from, `${kept}${suffix}`);
        keptAs.push(`${kept}${suffix}`);
      }
    }
    fs.renameSync(staging, target);
    swapped = true;
    fs.rmSync(stagedMark, { force: true });
    fsyncPath(dir);
    // The same inode that passed integrity_check a moment ago: quick_check confirms it opens in place.
    await verifyRestored(target, { pragma: 'quick_check', onTick });
  } finally {
    // Whatever is in place now is what the app writes to: replication goes on from it.
    await replicator?.resume({ swapped });
  }
  return { restoredFrom: backupFile, target, keptAs, alreadyDone: false };
}
