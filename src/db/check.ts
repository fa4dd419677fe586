// Checking and checkpointing atlas.db, shared by the activities and the `atlas-ops db` commands.
import { checkIntegrity } from './integrity';
import { withDatabase, sizeOf } from './sqlite';

export interface DbCheck {
  ok: boolean;
  problems: string[];
  journalMode?: string;
  sizeBytes: number;
  walBytes: number;
}


/**
 * PRAGMA integrity_check, read-only, in a thread (see integrity.ts); `onTick` is called every
 * second meanwhile. A file SQLite cannot open is a problem, not an exception.
 */
export async function checkDatabase(file: string, onTick?: () => void): Promise<DbCheck> {
  const sizeBytes = sizeOf(file);
  const walBytes = sizeOf(`${file}-wal`);
  try {
    const { problems, journalMode } = await checkIntegrity(file, { field: 'atlas.db', onTick });
    return { ok: problems.length === 0, problems: problems.slice(0, 50), journalMode, sizeBytes, walBytes };
  } catch (err) {
    return { ok: false, problems: [(err as Error).message], sizeBytes, walBytes };
  }
}

export interface CheckpointResult {
  ok: boolean;
  error?: string;
  /** Which checkpoint ran: FULL, or PASSIVE while Litestream owns checkpoints. */
  mode?: 'FULL' | 'PASSIVE';
  /** PRAGMA wal_checkpoint: busy flag, WAL frames, frames checkpointed. */
  busy?: number;
  walFrames?: number;
  checkpointed?: number;
}

/**
 * PRAGMA wal_checkpoint(FULL) (the runbook's Option A), or PASSIVE while Litestream runs: PASSIVE
 * never waits for Litestream's read transaction and never resets the WAL. RESTART and TRUNCATE
 * are never used on atlas.db (docs/safety.md#checkpoints-and-swaps). Reports a database it cannot open.
 */
export function checkpointDatabase(file: string, mode: 'FULL' | 'PASSIVE' = 'FULL'): CheckpointResult {
  try {
    const row = withDatabase(file, {}, (db) => db.prepare(`PRAGMA wal_checkpoint(${mode})`).get() as { busy: number; log: number; checkpointed: number });
    return { ok: row.busy === 0, mode, busy: row.busy, walFrames: row.log, checkpointed: row.checkpointed };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}
