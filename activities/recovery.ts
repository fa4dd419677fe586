// Activities of corruption recovery (the runbook's "Database Corruption Recovery"): assess the
// damage, keep the evidence, Option A (WAL checkpoint) and Option B (newest good backup).
import fs from 'node:fs';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { listBackups, type BackupEntry } from '../src/db/snapshot';
import { checkpointDatabase, type CheckpointResult } from '../src/db/check';
import { RestoreError, restoreBackup, type RestoreResult } from '../src/db/restore';
import { refuseSwapWhileHeld } from '../src/db/holders';
import { DATABASE_FILE_SUFFIXES, fsyncPath, openDatabase, withDatabase, rowCounts, sizeOf } from '../src/db/sqlite';
import { MODE } from '../src/file-modes';
import { appendLog } from '../src/log';
import { checkIntegrity } from '../src/db/integrity';
import { replicaConfigured } from '../src/config';
import { ReplicaRestoreError, restoreReplicaInto } from '../src/replication/restore';
import type { BackupSummary } from './backup';
import type { ActivityContext } from './deps';
import { failure } from '../src/workflow-safe/failures';
import { isPlainSuffix } from '../src/workflow-safe/file-names';

export type { CheckpointResult };


export interface Assessment {
  dbBytes: number;
  walBytes: number;
  shmBytes: number;
  /** Row count per table, or the error reading it. Absent tables: the schema itself is unreadable. */
  tables: Record<string, number | string>;
  schemaError?: string;
  backups: BackupSummary[];
}

/** Reads what it can of a damaged database, table by table; never writes to it. */
function readableCounts(file: string): { tables: Record<string, number | string>; schemaError?: string } {
  const tables: Record<string, number | string> = {};
  let db;
  try {
    db = openDatabase(file, { readonly: true });
  } catch (err) {
    return { tables, schemaError: (err as Error).message };
  }
  try {
    let names: string[];
    try {
      names = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];
    } catch (err) {
      return { tables, schemaError: (err as Error).message };
    }
    for (const name of names) {
      try {
        tables[name] = db.prepare(`SELECT count(*) FROM "${name.replace(/"/g, '""')}"`).pluck().get() as number;
      } catch (err) {
        tables[name] = (err as Error).message;
      }
    }
    return { tables };
  } finally {
    db.close();
  }
}

export interface OptionBResult {
  restoredFrom?: string;
  backupCreatedAt?: string;
  keptAs: string[];
  /** Backups tried first that failed integrity_check, with why. */
  rejected: { name: string; problem: string }[];
  /** From the backup's time to the detection of the corruption. */
  dataLossWindowMs?: number;
  /** Per table: rows in the corrupt file that the backup does not have (when it could be read). */
  rowsLost: Record<string, number | string>;
}

/** Option R's candidate: the replica's newest point, rebuilt into a staging file and checked. */
export interface ReplicaCandidate {
  available: boolean;
  /** Why R is no candidate: not configured, unreachable, or its point fails integrity_check. */
  why?: string;
  /** The replica's newest point (Litestream's LTX time, to the second). */
  point?: string;
  /** From that point to the detection of the corruption. */
  dataLossWindowMs?: number;
}

export function createRecoveryActivities(ctx: ActivityContext) {
  const { paths } = ctx;
  /** Where Option R rebuilds the replica's newest point: hidden, beside atlas.db (same filesystem). */
  const replicaStaging = (suffix: string) => {
    if (!isPlainSuffix(suffix)) throw failure.InvalidInput(`suffix: "${suffix}" is not a plain suffix`);
    return path.join(paths.dataDir, `.replica-${suffix}.db`);
  };
  const removeStaging = (file: string) => {
    for (const s of DATABASE_FILE_SUFFIXES) fs.rmSync(`${file}${s}`, { force: true });
  };
  const log = (record: Record<string, unknown>) => appendLog(paths.log('backup'), record);

  return {
    async assessAtlasDb(): Promise<Assessment> {
      const file = paths.atlasDb;
      const { tables, schemaError } = readableCounts(file);
      return {
        dbBytes: sizeOf(file),
        walBytes: sizeOf(`${file}-wal`),
        shmBytes: sizeOf(`${file}-shm`),
        tables,
        schemaError,
        backups: listBackups(paths.backupsDir).map((b) => ({ name: b.name, size: b.size, verified: b.verified, createdAt: b.manifest?.createdAt, reason: b.manifest?.reason })),
      };
    },

    /**
     * Copies atlas.db and its -wal/-shm to `atlas.db.<suffix>` before Option A changes anything:
     * a checkpoint writes WAL frames into the main file, and that must be undoable by hand.
     * Idempotent: a copy already made (same size) is kept as it is.
     */
    async preserveEvidence(input: { suffix: string }): Promise<string[]> {
      if (!isPlainSuffix(input.suffix)) throw failure.InvalidInput(`suffix: "${input.suffix}" is not a plain suffix`);
      const kept: string[] = [];
      for (const s of DATABASE_FILE_SUFFIXES) {
        const from = `${paths.atlasDb}${s}`;
        const to = `${paths.atlasDb}.${input.suffix}${s}`;
        if (!fs.existsSync(from)) continue;
        if (!fs.existsSync(to) || fs.statSync(to).size !== fs.statSync(from).size) {
          fs.copyFileSync(from, `${to}.tmp`);
          // copyFile keeps the live file's mode: evidence is atlas-ops' own, 0640 (docs/safety.md#file-modes).
          fs.chmodSync(`${to}.tmp`, MODE.file);
          fsyncPath(`${to}.tmp`);
          fs.renameSync(`${to}.tmp`, to);
        }
        kept.push(to);
      }
      fsyncPath(paths.dataDir);
      log({ event: 'corruption-evidence-kept', files: kept.map((f) => path.basename(f)) });
      return kept;
    },

    /**
     * Option A: PRAGMA wal_checkpoint(FULL). A database SQLite cannot open is reported, not thrown.
     * Corruption recovery has stopped the replicator before (`pauseReplicator`): its read
     * transaction would keep FULL busy, and it must not ship a snapshot of a corrupt file
     * (docs/safety.md#checkpoints-and-swaps).
     */
    async checkpointAtlasDb(): Promise<CheckpointResult> {
      const result = checkpointDatabase(paths.atlasDb);
      log({ event: 'wal-checkpoint', ...result });
      return result;
    },

    /** Stops the replicator while atlas.db may be corrupt (idempotent; nothing when replication is not configured). */
    async pauseReplicator(): Promise<boolean> {
      const replicator = ctx.replicatorControl();
      await replicator?.pause();
      return replicator !== undefined;
    },

    /**
     * Starts it again from the recovered atlas.db: `litestream reset` first, so the replica goes on
     * from a snapshot of the sound file whatever happened to the WAL meanwhile.
     */
    async resumeReplicator(): Promise<boolean> {
      const replicator = ctx.replicatorControl();
      await replicator?.resume({ swapped: true });
      return replicator !== undefined;
    },

    /**
     * Option R, first half: rebuilds the replica's newest point into a staging file and runs
     * integrity_check on it, so that the choice among R and B is made on a checked candidate.
     * Nothing in place changes. Not configured, unreachable or unsound: `available: false` and why.
     */
    async stageReplica(input: { suffix: string; detectedAt: string }): Promise<ReplicaCandidate> {
      const staging = replicaStaging(input.suffix);
      if (!replicaConfigured(ctx.config)) return { available: false, why: 'replication is not configured' };
      const onTick = () => Context.current().heartbeat({ staging: 'replica' });
      let point: string;
      try {
        point = (await restoreReplicaInto(ctx.config, paths, staging, { onTick })).point;
      } catch (err) {
        if (err instanceof ReplicaRestoreError) return { available: false, why: err.message };
        throw err;
      }
      const { problems } = await checkIntegrity(staging, { readonly: false, wal: true, privateFile: true, onTick, field: 'replica' }).catch((err: unknown) => ({ problems: [(err as Error).message] }));
      if (problems.length) {
        removeStaging(staging);
        return { available: false, point, why: `the replica's newest point fails integrity_check: ${problems.slice(0, 3).join('; ')}` };
      }
      const dataLossWindowMs = Math.max(0, Date.parse(input.detectedAt) - Date.parse(point));
      log({ event: 'option-r-staged', point, dataLossWindowMs });
      return { available: true, point, dataLossWindowMs };
    },

    /** Option R, second half: swaps the staged replica in (staging, verify, keep the corrupt files, rename). Idempotent. */
    async restoreStagedReplica(input: { suffix: string; keepSuffix: string }): Promise<RestoreResult> {
      const staging = replicaStaging(input.suffix);
      if (!isPlainSuffix(input.keepSuffix)) throw failure.InvalidInput(`keepSuffix: "${input.keepSuffix}" is not a plain suffix`);
      if (!fs.existsSync(staging) && !fs.existsSync(`${paths.atlasDb}.${input.keepSuffix}`)) {
        throw failure.BackupMissing(`the staged replica ${staging} is gone; nothing was changed`);
      }
      try {
        const restored = await restoreBackup({ backupFile: staging, target: paths.atlasDb, keepSuffix: input.keepSuffix, beforeSwap: () => refuseSwapWhileHeld(paths.atlasDb), replicator: ctx.replicatorControl(), onTick: () => Context.current().heartbeat({ restoring: 'replica' }) });
        removeStaging(staging);
        log({ event: 'option-r-restored', keptAs: restored.keptAs.map((f) => path.basename(f)), alreadyDone: restored.alreadyDone });
        return restored;
      } catch (err) {
        if (err instanceof RestoreError) throw err.stage === 'verify-restored' ? failure.RestoreFailed(err.message) : failure.BackupInvalid(err.message);
        throw err;
      }
    },

    /** Removes a staged replica that was not chosen. */
    async discardStagedReplica(input: { suffix: string }): Promise<void> {
      removeStaging(replicaStaging(input.suffix));
    },

    /**
     * Option B: restores the newest backup that passes integrity_check (restoreBackup: staging copy,
     * verify, keep the corrupt files as atlas.db.<keepSuffix>, rename, fsync, verify again).
     * Idempotent through restoreBackup: a retry after the rename finds the work done.
     */
    async restoreNewestGoodBackup(input: { keepSuffix: string; detectedAt: string }): Promise<OptionBResult> {
      const result: OptionBResult = { keptAs: [], rejected: [], rowsLost: {} };
      // Newest first; restoreBackup checks each on its staging copy before anything is moved,
      // so a bad backup costs one copy and one check, and the next one is tried.
      let chosen: BackupEntry | undefined;
      let restored: RestoreResult | undefined;
      // Which candidate is being restored, written before each attempt: a retry after a crash past
      // the rename finds the restore done (restoreBackup is idempotent) and names the right backup.
      const marker = path.join(paths.dataDir, `.option-b-${input.keepSuffix}`);
      let candidates = listBackups(paths.backupsDir);
      if (fs.existsSync(`${paths.atlasDb}.${input.keepSuffix}`) && fs.existsSync(marker)) {
        const name = fs.readFileSync(marker, 'utf8').trim();
        candidates = [...candidates.filter((b) => b.name === name), ...candidates.filter((b) => b.name !== name)];
      }
      for (const b of candidates) {
        Context.current().heartbeat({ trying: b.name, rejected: result.rejected.length });
        fs.writeFileSync(marker, b.name, { mode: MODE.file });
        try {
          restored = await restoreBackup({ backupFile: b.path, target: paths.atlasDb, keepSuffix: input.keepSuffix, beforeSwap: () => refuseSwapWhileHeld(paths.atlasDb), replicator: ctx.replicatorControl(), onTick: () => Context.current().heartbeat({ trying: b.name, rejected: result.rejected.length }) });
          chosen = b;
          break;
        } catch (err) {
          if (!(err instanceof RestoreError)) throw err;
          result.rejected.push({ name: b.name, problem: (err as Error).message.slice(0, 300) });
        }
      }
      if (!chosen || !restored) {
        fs.rmSync(marker, { force: true });
        log({ event: 'option-b-no-good-backup', rejected: result.rejected });
        return result;
      }
      result.restoredFrom = chosen.name;
      result.keptAs = restored.keptAs;
      // A backup without a manifest is dated by its name (atlas_YYYYMMDD-HHMMSS).
      const m = /^atlas_(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})/.exec(chosen.name);
      result.backupCreatedAt = chosen.manifest?.createdAt ?? (m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.000Z` : undefined);
      if (result.backupCreatedAt) result.dataLossWindowMs = Math.max(0, Date.parse(input.detectedAt) - Date.parse(result.backupCreatedAt));
      const corrupt = readableCounts(`${paths.atlasDb}.${input.keepSuffix}`);
      const restoredCounts = withDatabase(paths.atlasDb, { readonly: true }, (now) => rowCounts(now));
      if (corrupt.schemaError) result.rowsLost = { '*': `corrupt file unreadable: ${corrupt.schemaError}` };
      for (const [table, count] of Object.entries(corrupt.tables)) {
        result.rowsLost[table] = typeof count === 'number' ? Math.max(0, count - (restoredCounts[table] ?? 0)) : `unreadable: ${count}`;
      }
      log({ event: 'option-b-restored', from: chosen.name, keptAs: result.keptAs.map((f) => path.basename(f)), dataLossWindowMs: result.dataLossWindowMs, rowsLost: result.rowsLost, alreadyDone: restored.alreadyDone });
      return result;
    },
  };
}
