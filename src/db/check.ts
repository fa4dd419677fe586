// Checking and checkpointing atlas.db, shared by the activities and the `atlas-ops db` commands.
import fs from 'node:fs';
import { assertSqliteFile, integrityProblems, openDatabase } from './sqlite';

export interface DbCheck {
  ok: boolean;
  problems: string[];
  journalMode?: string;
  sizeBytes: number;
  walBytes: number;
}

const sizeOf = (file: string) => (fs.existsSync(file) ? fs.statSync(file).size : 0);

/** PRAGMA integrity_check, read-only; a file SQLite cannot open is a problem, not an exception. */
export function checkDatabase(file: string): DbCheck {
  const sizeBytes = sizeOf(file);
  const walBytes = sizeOf(`${file}-wal`);
  try {
    assertSqliteFile(file, 'atlas.db');
    const db = openDatabase(file, { readonly: true });
    try {
      const problems = integrityProblems(db);
      return { ok: problems.length === 0, problems: problems.slice(0, 50), journalMode: db.pragma('journal_mode', { simple: true }) as string, sizeBytes, walBytes };
    } finally {
      db.close();
    }
  } catch (err) {
    return { ok: false, problems: [(err as Error).message], sizeBytes, walBytes };
  }
}

export interface CheckpointResult {
  ok: boolean;
  error?: string;
  /** PRAGMA wal_checkpoint(FULL): busy flag, WAL frames, frames checkpointed. */
  busy?: number;
  walFrames?: number;
  checkpointed?: number;
}

/** PRAGMA wal_checkpoint(FULL) (the runbook's Option A). Reports a database it cannot open. */
export function checkpointDatabase(file: string): CheckpointResult {
  try {
    const db = openDatabase(file);
    try {
      const row = db.prepare('PRAGMA wal_checkpoint(FULL)').get() as { busy: number; log: number; checkpointed: number };
      return { ok: row.busy === 0, busy: row.busy, walFrames: row.log, checkpointed: row.checkpointed };
    } finally {
      db.close();
    }
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}
