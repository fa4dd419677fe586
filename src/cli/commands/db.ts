// atlas-ops db check | checkpoint | backups | restore <backup> | restore --replica [--at]
import fs from 'node:fs';
import type { Command } from 'commander';
import { checkDatabase, checkpointDatabase } from '../../db/check';
import { listBackups, verifyBackupFile } from '../../db/snapshot';
import { atlasPaths, insideDir } from '../../paths';
import { restoreTargetProblem } from '../../workflow-safe/file-names';
import { replicaConfigured, requireHome, type AtlasConfig } from '../../config';
import { replicaLtx, replicatorAlive, restorableRange } from '../../replication/status';
import { pointProblem } from '../../replication/restore';
import type { Action, Run } from '../action';
import { EXIT, UsageError, nameOption } from '../common';
import { hostOption, startProcedure } from '../procedures';

export function registerDb(program: Command, run: Run): void {
  const db = program.command('db').description('atlas.db: integrity check, checkpoint, backups, restore');
  checkCommand(db, run);
  checkpointCommand(db, run);
  backupsCommand(db, run);
  restoreCommand(db, run);
}

/** The configuration of a command that works on the Atlas home's files: the home must exist. */
function homeConfig(a: Action<unknown, unknown[]>): AtlasConfig {
  requireHome(a.config);
  return a.config;
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

/** Validates a backup name and the file before a restore starts: bad input changes nothing. */
export function checkBackupForRestore(config: AtlasConfig, name: string, target?: string): string {
  const paths = atlasPaths(config.home);
  let file: string;
  try {
    file = insideDir(paths.backupsDir, name, 'backup');
    if (target !== undefined) {
      insideDir(paths.dataDir, target, '--target');
      const problem = restoreTargetProblem(target);
      if (problem) throw new Error(`--target: ${problem}`);
    }
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (!fs.existsSync(paths.backupsDir)) throw new UsageError(`backups folder ${paths.backupsDir} does not exist: there is nothing to restore`);
  if (!fs.existsSync(file)) throw new UsageError(`backup ${name} is not in ${paths.backupsDir} (atlas-ops db backups lists them)`);
  const problems = verifyBackupFile(file);
  if (problems.length) throw new UsageError(`backup ${name} cannot be restored: ${problems.slice(0, 3).join('; ')}. Nothing was changed.`);
  return file;
}

function checkCommand(db: Command, run: Run): void {
  db.command('check')
    .description('PRAGMA integrity_check on atlas.db (read-only); exit 1 when it fails')
    .action(run(async (a) => {
      const file = atlasPaths(homeConfig(a).home).atlasDb;
      // A missing file is a wrong home, not a corrupt database: recovery would be the wrong advice.
      if (!fs.existsSync(file)) throw new UsageError(`no atlas.db at ${file}: check --home or ATLAS_HOME; nothing was checked`);
      const c = await checkDatabase(file);
      a.output({ file, ...c }, () => [
        `${file}: ${c.ok ? 'ok' : 'FAILS integrity_check'} (${mb(c.sizeBytes)}, WAL ${mb(c.walBytes)}, journal ${c.journalMode ?? '?'})`,
        ...c.problems.slice(0, 10).map((p) => `  ${p}`),
        ...(c.ok ? [] : ['  next: atlas-ops recover corruption']),
      ]);
      return c.ok ? EXIT.ok : EXIT.failed;
    }));
}

function checkpointCommand(db: Command, run: Run): void {
  db.command('checkpoint')
    .description('PRAGMA wal_checkpoint(FULL): fold the WAL into atlas.db (PASSIVE while Litestream replicates: it owns checkpoints)')
    .action(run(async (a) => {
      const config = homeConfig(a);
      const paths = atlasPaths(config.home);
      const live = await replicatorAlive(config, paths);
      const r = checkpointDatabase(paths.atlasDb, live ? 'PASSIVE' : 'FULL');
      const owner = live ? ' (PASSIVE: Litestream is replicating and checkpoints the rest itself once it has shipped it)' : '';
      a.output(r, () => (r.ok ? `checkpointed ${r.checkpointed} of ${r.walFrames} WAL frames${owner}` : `checkpoint failed: ${r.error ?? `busy (a reader or writer holds the WAL); try again or see atlas-ops doctor db`}`));
      return r.ok ? EXIT.ok : EXIT.failed;
    }));
}

function backupsCommand(db: Command, run: Run): void {
  db.command('backups')
    .description('local backups, newest first, with their verification')
    .option('--verify', 'run integrity_check on each file again')
    .action(run<{ verify?: true }>(async (a) => {
      const dir = atlasPaths(homeConfig(a).home).backupsDir;
      const verify = a.opts.verify === true;
      const rows = listBackups(dir).map((b) => ({
        name: b.name,
        size: b.size,
        verified: b.verified,
        createdAt: b.manifest?.createdAt,
        reason: b.manifest?.reason,
        sha256: b.manifest?.sha256,
        ...(verify ? { recheck: verifyBackupFile(b.path) } : {}),
      }));
      a.output({ dir, backups: rows }, () =>
        rows.length
          ? rows.map((r) => `${r.name}  ${mb(r.size).padStart(9)}  ${r.verified ? 'verified' : 'NOT verified'}${r.recheck ? (r.recheck.length ? `  recheck FAILS: ${r.recheck[0]}` : '  recheck ok') : ''}  ${r.reason ?? ''}`)
          : `no backups in ${dir}`,
      );
      return verify && rows.some((r) => r.recheck?.length) ? EXIT.failed : EXIT.ok;
    }));
}

function restoreCommand(db: Command, run: Run): void {
  db.command('restore')
    .description('restore atlas.db from a local backup, or from the replica with --replica [--at <ISO time>] (holds the atlas.db lock; keeps the replaced file)')
    .argument('[backup]', 'backup file name in backups/ (see atlas-ops db backups); omit with --replica')
    .option('--replica', 'restore from the continuous replica (point-in-time; atlas-ops replication status shows the range)')
    .option('--at <time>', 'with --replica: the point to restore, an ISO date-time within the restorable range (default: the newest)')
    .option('--target <name>', 'restore into this file name in data/ instead of atlas.db (a restore test)')
    .option('--by <name>', 'who asks', nameOption('--by'), process.env.USER)
    .addOption(hostOption())
    .option('--wait', 'follow progress until done')
    .action(run<{ target?: string; by?: string; wait?: true; replica?: true; at?: string }, [string | undefined]>(async (a) => {
      const [backup] = a.args;
      const { target, by, wait, replica, at } = a.opts;
      // --target first: it is wrong whatever the source (and the source may be missing too).
      if (target !== undefined) checkRestoreTarget(homeConfig(a), target);
      if (replica) {
        if (backup !== undefined) throw new UsageError(`<backup> "${backup}" and --replica: give one source, not both`);
        const point = await checkReplicaForRestore(homeConfig(a), at, target);
        return startProcedure(a, { workflowType: 'restore', procedure: 'restore', input: { replica: true, at: point, requestedBy: by, target }, summary: `Restore from the replica${point ? ` at ${point}` : ''}`, wait });
      }
      if (at !== undefined) throw new UsageError('--at: only with --replica');
      if (backup === undefined) throw new UsageError('<backup>: required (a file name from atlas-ops db backups), or --replica');
      checkBackupForRestore(homeConfig(a), backup, target);
      return startProcedure(a, { workflowType: 'restore', procedure: 'restore', input: { backup, requestedBy: by, target }, summary: `Restore ${backup}`, wait });
    }));
}

/** --target: a plain file name in data/, never a live database file. */
function checkRestoreTarget(config: AtlasConfig, target: string): void {
  try {
    insideDir(atlasPaths(config.home).dataDir, target, '--target');
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const problem = restoreTargetProblem(target);
  if (problem) throw new UsageError(`--target: ${problem}`);
}

/**
 * Before starting a restore from the replica: replication configured, --target a plain name, and
 * --at an ISO time inside the replica's restorable range (naming the range). Returns --at as ISO.
 */
async function checkReplicaForRestore(config: AtlasConfig, at: string | undefined, target: string | undefined): Promise<string | undefined> {
  const paths = atlasPaths(config.home);
  if (!replicaConfigured(config)) throw new UsageError('--replica: replication is not configured (set replica.endpoint, replica.bucket and replica.credentialsFile; docs/safety.md#continuous-replica). Nothing was changed.');
  if (target !== undefined) checkRestoreTarget(config, target);
  if (at === undefined) return undefined;
  if (Number.isNaN(Date.parse(at))) throw new UsageError(`--at: "${at}" is not an ISO date-time (e.g. 2026-01-01T12:00:00Z)`);
  const listing = await replicaLtx(config, paths);
  if (!listing.entries) throw new Error(`the replica cannot be read: ${listing.error}`);
  const problem = pointProblem(at, restorableRange(listing.entries), new Date());
  if (problem) throw new UsageError(`--${problem}. Nothing was changed.`);
  return new Date(at).toISOString();
}
