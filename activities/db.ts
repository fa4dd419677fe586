// Activities on atlas.db: verified snapshots, integrity checks, probes and restores.
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { takeSnapshot, type BackupManifest, SnapshotError } from '../src/db/snapshot';
import { restoreBackup, type RestoreResult } from '../src/db/restore';
import { assertSqliteFile, integrityProblems, isCorruptionError, NotSqliteError, openDatabase, rowCounts } from '../src/db/sqlite';
import { insideDir } from '../src/paths';
import { appendLog } from '../src/log';
import type { ActivityContext } from './deps';

export interface DbCheck {
  ok: boolean;
  problems: string[];
  journalMode?: string;
  sizeBytes: number;
  walBytes: number;
}

export interface DbProbe {
  journalMode: string;
  walSwitchedOn: boolean;
  rowCounts: Record<string, number>;
  queryMs: number;
}

/** Typed failures a workflow can react to; the message always says what to do next. */
function dbFailure(err: unknown, file: string): ApplicationFailure {
  if (err instanceof NotSqliteError || isCorruptionError(err)) {
    return ApplicationFailure.create({
      type: 'DatabaseCorrupt',
      message: `${file}: ${(err as Error).message}. Run \`atlas-ops recover corruption\`.`,
      nonRetryable: true,
      cause: err as Error,
    });
  }
  return ApplicationFailure.create({ type: 'DatabaseError', message: `${file}: ${(err as Error).message}`, cause: err as Error });
}

export function createDbActivities(ctx: ActivityContext) {
  const { paths } = ctx;
  return {
    /** A verified local backup; a retry of the same step returns the backup it already took. */
    async snapshotAtlasDb(input: { reason: string; idempotencyKey: string }): Promise<BackupManifest> {
      const heartbeat = (progress: { bytes: number; totalBytes: number }) => {
        const percent = progress.totalBytes ? Math.min(100, Math.round((progress.bytes / progress.totalBytes) * 100)) : 0;
        Context.current().heartbeat({ bytesCopied: progress.bytes, totalBytes: progress.totalBytes, percent });
      };
      try {
        const manifest = await takeSnapshot({
          source: paths.atlasDb,
          backupsDir: paths.backupsDir,
          reason: input.reason,
          idempotencyKey: input.idempotencyKey,
          now: ctx.now(),
          onProgress: heartbeat,
        });
        appendLog(paths.log('backup'), { event: 'backup-verified', file: manifest.file, size: manifest.size, sha256: manifest.sha256, reason: input.reason });
        return manifest;
      } catch (err) {
        appendLog(paths.log('backup'), { event: 'backup-failed', error: (err as Error).message, reason: input.reason });
        if (err instanceof SnapshotError && err.code === 'SQLITE_CORRUPT') throw dbFailure(Object.assign(err, { code: 'SQLITE_CORRUPT' }), paths.atlasDb);
        if (err instanceof NotSqliteError) throw dbFailure(err, paths.atlasDb);
        throw err;
      }
    },

    async checkAtlasDb(): Promise<DbCheck> {
      const file = paths.atlasDb;
      const sizeBytes = fs.existsSync(file) ? fs.statSync(file).size : 0;
      const walBytes = fs.existsSync(`${file}-wal`) ? fs.statSync(`${file}-wal`).size : 0;
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
    },

    /** Opens the database, checks WAL mode (switching it back on) and times a few queries. */
    async probeAtlasDb(): Promise<DbProbe> {
      try {
        const db = openDatabase(paths.atlasDb);
        try {
          let journalMode = db.pragma('journal_mode', { simple: true }) as string;
          let walSwitchedOn = false;
          if (journalMode !== 'wal') {
            journalMode = db.pragma('journal_mode = WAL', { simple: true }) as string;
            walSwitchedOn = journalMode === 'wal';
          }
          const t0 = performance.now();
          const counts = rowCounts(db);
          return { journalMode, walSwitchedOn, rowCounts: counts, queryMs: Math.round((performance.now() - t0) * 100) / 100 };
        } finally {
          db.close();
        }
      } catch (err) {
        throw dbFailure(err, paths.atlasDb);
      }
    },

    /** Puts a backup in place of atlas.db, keeping the replaced file as atlas.db.<keepSuffix>. */
    async restoreAtlasDb(input: { backup: string; keepSuffix: string }): Promise<RestoreResult> {
      let backupFile: string;
      let keepSuffix: string;
      try {
        backupFile = insideDir(paths.backupsDir, input.backup, 'backup');
        if (!/^[A-Za-z0-9._-]+$/.test(input.keepSuffix)) throw new Error(`keepSuffix: "${input.keepSuffix}" is not a plain suffix`);
        keepSuffix = input.keepSuffix;
      } catch (err) {
        throw ApplicationFailure.create({ type: 'InvalidInput', message: (err as Error).message, nonRetryable: true });
      }
      if (!fs.existsSync(backupFile)) {
        throw ApplicationFailure.create({ type: 'BackupMissing', message: `backup ${input.backup} is not in ${paths.backupsDir}`, nonRetryable: true });
      }
      const result = restoreBackup({ backupFile, target: paths.atlasDb, keepSuffix });
      appendLog(paths.log('backup'), { event: 'restored', from: path.basename(backupFile), keptAs: result.keptAs.map((f) => path.basename(f)) });
      return result;
    },
  };
}
