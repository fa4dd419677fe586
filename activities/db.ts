// Activities on atlas.db: verified snapshots, integrity checks, probes and restores.
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { takeSnapshot, type BackupManifest } from '../src/db/snapshot';
import { diagnoseDatabase, type DbDoctorReport } from '../src/db/doctor';
import { RestoreError, restoreBackup, type RestoreResult } from '../src/db/restore';
import { refuseSwapWhileHeld } from '../src/db/holders';
import { DATABASE_FILE_SUFFIXES, isCorruptionError, NotSqliteError, withDatabase, rowCounts } from '../src/db/sqlite';
import { insideDir } from '../src/paths';
import { replicaConfigured } from '../src/config';
import { ReplicaRestoreError, restoreReplicaInto } from '../src/replication/restore';
import { checkDatabase, type DbCheck } from '../src/db/check';
import { appendLog } from '../src/log';
import { startOnce } from '../src/temporal/start';
import type { corruptionRecovery } from '../workflows/corruption-recovery';
import { CORRUPTION_ALERT, CORRUPTION_RECOVERY } from '../src/workflow-safe/singletons';
import type { ActivityContext } from './deps';
import { failure } from '../src/workflow-safe/failures';
import { isPlainSuffix, restoreTargetProblem } from '../src/workflow-safe/file-names';
import { shellQuote } from '../src/workflow-safe/shell-quote';

export type { DbCheck };

export interface DbProbe {
  journalMode: string;
  walSwitchedOn: boolean;
  rowCounts: Record<string, number>;
  queryMs: number;
}

/**
 * Corruption met by any activity: a critical alert, and (recovery.onCorruption = auto) the
 * corruptionRecovery singleton started at once. Never throws: the caller's own failure matters more.
 */
export async function reportCorruption(ctx: ActivityContext, err: Error, file: string): Promise<{ recovery?: string }> {
  const message = `${file}: ${err.message}`;
  try {
    await ctx.alerts().raise({ code: CORRUPTION_ALERT, level: 'critical', message: `atlas.db is corrupt (${message}). Run \`atlas-ops recover corruption\`.` });
  } catch {
    /* the alert store itself may be what is failing */
  }
  if (ctx.config.recovery.onCorruption !== 'auto') return {};
  try {
    const started = await startOnce<typeof corruptionRecovery>(ctx.client, ctx.config, 'corruptionRecovery', CORRUPTION_RECOVERY,
      { trigger: message.slice(0, 500), detectedAt: ctx.now().toISOString() }, 'Corruption recovery (started automatically)');
    appendLog(ctx.paths.log('backup'), { event: 'corruption-recovery-started', workflowId: started.workflowId, joined: !started.started, trigger: message });
    return { recovery: started.workflowId };
  } catch (startErr) {
    appendLog(ctx.paths.log('backup'), { event: 'corruption-recovery-start-failed', error: (startErr as Error).message });
    return {};
  }
}

/**
 * Corruption met by any activity (snapshot, sync, …) as its typed failure, once reported: the
 * critical alert raised and recovery started. Undefined when `err` is not corruption.
 */
export async function corruptionFailure(ctx: ActivityContext, err: unknown, file: string): Promise<ApplicationFailure | undefined> {
  if (!(err instanceof NotSqliteError || isCorruptionError(err))) return undefined;
  const { recovery } = await reportCorruption(ctx, err as Error, file);
  return failure.DatabaseCorrupt(
    `${file}: ${(err as Error).message}. ${recovery ? `corruptionRecovery ${recovery} is running (atlas-ops status ${shellQuote(recovery)})` : 'Run `atlas-ops recover corruption`'}.`,
    { cause: err as Error },
  );
}

/** Typed failures a workflow can react to; the message always says what to do next. */
async function dbFailure(ctx: ActivityContext, err: unknown, file: string): Promise<ApplicationFailure> {
  return (await corruptionFailure(ctx, err, file)) ?? failure.DatabaseError(`${file}: ${(err as Error).message}`, { cause: err as Error });
}

export function createDbActivities(ctx: ActivityContext) {
  const { paths } = ctx;

  /** The file a restore replaces (atlas.db, or a plain name in data/ for a restore test) and the suffix it is kept under. */
  const restoreDestination = (input: { keepSuffix: string; target?: string }) => {
    try {
      let target = paths.atlasDb;
      // Another target is a plain name in data/ (a restore test beside the live database).
      if (input.target !== undefined) {
        target = insideDir(paths.dataDir, input.target, 'target');
        const problem = restoreTargetProblem(input.target);
        if (problem) throw new Error(`target: ${problem}`);
      }
      if (!isPlainSuffix(input.keepSuffix)) throw new Error(`keepSuffix: "${input.keepSuffix}" is not a plain suffix`);
      return { target, keepSuffix: input.keepSuffix };
    } catch (err) {
      throw failure.InvalidInput((err as Error).message);
    }
  };

  /** restoreBackup with the replicator stopped around the swap, its errors as the catalogue's failures. */
  const swapIn = async (sourceFile: string, target: string, keepSuffix: string, what: string): Promise<RestoreResult> => {
    try {
      // Only the live database has an app (and Litestream) on it; a restore test's target is our own file.
      const live = target === paths.atlasDb;
      const beforeSwap = live ? () => refuseSwapWhileHeld(target) : undefined;
      const replicator = live ? ctx.replicatorControl() : undefined;
      return await restoreBackup({ backupFile: sourceFile, target, keepSuffix, beforeSwap, replicator, onTick: () => Context.current().heartbeat({ restoring: what }) });
    } catch (err) {
      if (err instanceof RestoreError) {
        throw err.stage === 'verify-restored'
          ? failure.RestoreFailed(`${err.message}; the replaced database is kept as ${target}.${keepSuffix}`)
          : failure.BackupInvalid(`${err.message}; ${path.basename(target)} was not changed. Choose another backup (atlas-ops db backups).`);
      }
      throw err;
    }
  };

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
        if (err instanceof NotSqliteError || isCorruptionError(err)) throw await dbFailure(ctx, err, paths.atlasDb);
        throw err;
      }
    },

    /** The runbook's "database is locked" diagnosis (never kills a process). */
    async diagnoseAtlasDb(): Promise<DbDoctorReport> {
      return diagnoseDatabase(paths.atlasDb);
    },

    async checkAtlasDb(): Promise<DbCheck> {
      return checkDatabase(paths.atlasDb, () => Context.current().heartbeat({ checking: 'integrity_check' }));
    },

    /** Opens the database, checks WAL mode (switching it back on) and times a few queries. */
    async probeAtlasDb(): Promise<DbProbe> {
      try {
        return withDatabase(paths.atlasDb, {}, (db) => {
          let journalMode = db.pragma('journal_mode', { simple: true }) as string;
          let walSwitchedOn = false;
          if (journalMode !== 'wal') {
            journalMode = db.pragma('journal_mode = WAL', { simple: true }) as string;
            walSwitchedOn = journalMode === 'wal';
          }
          const t0 = performance.now();
          const counts = rowCounts(db);
          return { journalMode, walSwitchedOn, rowCounts: counts, queryMs: Math.round((performance.now() - t0) * 100) / 100 };
        });
      } catch (err) {
        throw await dbFailure(ctx, err, paths.atlasDb);
      }
    },

    /** Puts a backup in place of atlas.db, keeping the replaced file as atlas.db.<keepSuffix>. */
    async restoreAtlasDb(input: { backup: string; keepSuffix: string; target?: string }): Promise<RestoreResult> {
      const { target, keepSuffix } = restoreDestination(input);
      let backupFile: string;
      try {
        backupFile = insideDir(paths.backupsDir, input.backup, 'backup');
      } catch (err) {
        throw failure.InvalidInput((err as Error).message);
      }
      if (!fs.existsSync(backupFile)) {
        throw failure.BackupMissing(`backup ${input.backup} is not in ${paths.backupsDir}; nothing was changed (atlas-ops db backups lists them)`);
      }
      const result = await swapIn(backupFile, target, keepSuffix, input.backup);
      appendLog(paths.log('backup'), { event: 'restored', from: path.basename(backupFile), target: path.basename(target), keptAs: result.keptAs.map((f) => path.basename(f)) });
      return result;
    },

    /**
     * Point-in-time restore from the replica (`db restore --replica [--at]`): Litestream rebuilds
     * the point into a hidden file in data/, which then goes through the same staging, verify,
     * keep and swap as a backup; the rebuilt file is removed whatever happens. Idempotent: a retry
     * after the swap finds the kept file and does not restore again.
     */
    async restoreAtlasDbFromReplica(input: { at?: string; keepSuffix: string; target?: string }): Promise<RestoreResult & { point: string }> {
      const { target, keepSuffix } = restoreDestination(input);
      if (!replicaConfigured(ctx.config)) throw failure.InvalidInput('replica: replication is not configured (replica.endpoint); nothing was changed');
      const source = path.join(paths.dataDir, `.replica-${keepSuffix}.db`);
      const onTick = () => Context.current().heartbeat({ restoring: 'replica' });
      try {
        let point = input.at ?? 'newest';
        if (!fs.existsSync(`${target}.${keepSuffix}`)) {
          try {
            point = (await restoreReplicaInto(ctx.config, paths, source, { at: input.at, now: ctx.now(), onTick })).point;
          } catch (err) {
            if (err instanceof ReplicaRestoreError) throw err.kind === 'input' ? failure.InvalidInput(`${err.message}; nothing was changed`) : failure.CommandFailed(`${err.message}; nothing was changed`);
            throw err;
          }
        }
        const result = await swapIn(source, target, keepSuffix, `replica (${point})`);
        appendLog(paths.log('backup'), { event: 'restored', from: `replica ${point}`, target: path.basename(target), keptAs: result.keptAs.map((f) => path.basename(f)) });
        return { ...result, restoredFrom: `replica (${point})`, point };
      } finally {
        for (const s of DATABASE_FILE_SUFFIXES) fs.rmSync(`${source}${s}`, { force: true });
      }
    },
  };
}
