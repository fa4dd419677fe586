// atlas-ops db check | checkpoint | backups | restore <backup>, atlas-ops doctor db,
// atlas-ops backup, atlas-ops recover corruption.
import fs from 'node:fs';
import type { Command } from 'commander';
import { checkDatabase, checkpointDatabase } from '../db/check';
import { diagnoseDatabase } from '../db/doctor';
import { listBackups, verifyBackupFile } from '../db/snapshot';
import { atlasPaths, insideDir } from '../paths';
import { requireHome, type AtlasConfig } from '../config';
import { CORRUPTION_RECOVERY, DISK_EMERGENCY } from '../workflow-safe/singletons';
import { approveOciRestoreUpdate, attachmentSwappedSignal } from '../../workflows/corruption-recovery';
import { EXIT, UsageError, clientFor, configFor, output, parseIntOption } from './common';
import { requireProcedure, startProcedure, startSingleton } from './procedures';

type Run = (fn: (cmd: Command) => Promise<number>) => (...args: unknown[]) => Promise<void>;

function homeConfig(cmd: Command): AtlasConfig {
  const config = configFor(cmd);
  requireHome(config);
  return config;
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

/** Validates a backup name and the file before a restore starts: bad input changes nothing. */
export function checkBackupForRestore(config: AtlasConfig, name: string, target?: string): string {
  const paths = atlasPaths(config.home);
  let file: string;
  try {
    file = insideDir(paths.backupsDir, name, 'backup');
    if (target !== undefined) insideDir(paths.dataDir, target, '--target');
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (!fs.existsSync(paths.backupsDir)) throw new UsageError(`backups folder ${paths.backupsDir} does not exist: there is nothing to restore`);
  if (!fs.existsSync(file)) throw new UsageError(`backup ${name} is not in ${paths.backupsDir} (atlas-ops db backups lists them)`);
  const problems = verifyBackupFile(file);
  if (problems.length) throw new UsageError(`backup ${name} cannot be restored: ${problems.slice(0, 3).join('; ')}. Nothing was changed.`);
  return file;
}

export function registerDb(program: Command, run: Run): void {
  const db = program.command('db').description('atlas.db: integrity check, checkpoint, backups, restore');

  db.command('check')
    .description('PRAGMA integrity_check on atlas.db (read-only); exit 1 when it fails')
    .action(run(async (cmd) => {
      const config = homeConfig(cmd);
      const file = atlasPaths(config.home).atlasDb;
      const c = await checkDatabase(file);
      output(cmd, { file, ...c }, () => [
        `${file}: ${c.ok ? 'ok' : 'FAILS integrity_check'} (${mb(c.sizeBytes)}, WAL ${mb(c.walBytes)}, journal ${c.journalMode ?? '?'})`,
        ...c.problems.slice(0, 10).map((p) => `  ${p}`),
        ...(c.ok ? [] : ['  next: atlas-ops recover corruption']),
      ]);
      return c.ok ? EXIT.ok : EXIT.failed;
    }));

  db.command('checkpoint')
    .description('PRAGMA wal_checkpoint(FULL): fold the WAL into atlas.db')
    .action(run(async (cmd) => {
      const config = homeConfig(cmd);
      const r = checkpointDatabase(atlasPaths(config.home).atlasDb);
      output(cmd, r, () => (r.ok ? `checkpointed ${r.checkpointed} of ${r.walFrames} WAL frames` : `checkpoint failed: ${r.error ?? `busy (a reader or writer holds the WAL); try again or see atlas-ops doctor db`}`));
      return r.ok ? EXIT.ok : EXIT.failed;
    }));

  db.command('backups')
    .description('local backups, newest first, with their verification')
    .option('--verify', 'run integrity_check on each file again')
    .action(run(async (cmd) => {
      const config = homeConfig(cmd);
      const dir = atlasPaths(config.home).backupsDir;
      const verify = cmd.opts().verify === true;
      const rows = listBackups(dir).map((b) => ({
        name: b.name,
        size: b.size,
        verified: b.verified,
        createdAt: b.manifest?.createdAt,
        reason: b.manifest?.reason,
        sha256: b.manifest?.sha256,
        ...(verify ? { recheck: verifyBackupFile(b.path) } : {}),
      }));
      output(cmd, { dir, backups: rows }, () =>
        rows.length
          ? rows.map((r) => `${r.name}  ${mb(r.size).padStart(9)}  ${r.verified ? 'verified' : 'NOT verified'}${r.recheck ? (r.recheck.length ? `  recheck FAILS: ${r.recheck[0]}` : '  recheck ok') : ''}  ${r.reason ?? ''}`)
          : `no backups in ${dir}`,
      );
      return verify && rows.some((r) => r.recheck?.length) ? EXIT.failed : EXIT.ok;
    }));

  db.command('restore')
    .description('restore atlas.db from a local backup (holds the atlas.db lock; keeps the replaced file)')
    .argument('<backup>', 'backup file name in backups/ (see atlas-ops db backups)')
    .option('--target <name>', 'restore into this file name in data/ instead of atlas.db (a restore test)')
    .option('--by <name>', 'who asks', process.env.USER)
    .option('--wait', 'follow progress until done')
    .action(run(async (cmd) => {
      const [backup] = cmd.args as [string];
      const o = cmd.opts();
      const config = homeConfig(cmd);
      checkBackupForRestore(config, backup, o.target);
      const client = await clientFor(config);
      const input: Record<string, unknown> = { backup, requestedBy: o.by };
      if (o.target) input.target = o.target;
      return startProcedure(cmd, config, client, { workflowType: 'restore', procedure: 'restore', input, summary: `Restore ${backup}`, wait: o.wait });
    }));

  program.command('disk-emergency')
    .description('the runbook\'s disk space emergency: rotate logs, prune backups to the newest verified, vacuum the journal, until under the threshold')
    .option('--dry-run', 'say what each step would free; change nothing')
    .option('--threshold <percent>', 'stop once usage is below this (default: thresholds.diskPercent)', parseIntOption('--threshold'))
    .option('--wait', 'follow progress until done')
    .action(run(async (cmd) => {
      const o = cmd.opts();
      if (o.threshold !== undefined && (o.threshold < 1 || o.threshold > 100)) throw new UsageError(`--threshold: ${o.threshold} is not a percentage between 1 and 100`);
      const config = configFor(cmd);
      const client = await clientFor(config);
      const input: Record<string, unknown> = { trigger: `atlas-ops disk-emergency by ${process.env.USER ?? 'unknown'}` };
      if (o.dryRun) input.dryRun = true;
      if (o.threshold !== undefined) input.thresholdPercent = o.threshold;
      return startSingleton(cmd, config, client, { workflowType: 'diskEmergency', procedure: 'diskEmergency', name: DISK_EMERGENCY, input, summary: `Disk emergency${o.dryRun ? ' (dry run)' : ''}`, wait: o.wait });
    }));

  program.command('backup')
    .description('a verified local backup now (the schedule atlas-backup runs it daily), with retention')
    .option('--oci', 'also take an OCI block-volume backup')
    .option('--keep <n>', 'verified backups to keep', parseIntOption('--keep'))
    .option('--wait', 'follow progress until done')
    .action(run(async (cmd) => {
      const o = cmd.opts();
      if (o.keep === 0) throw new UsageError('--keep: must be at least 1 (the newest verified backup is always kept)');
      const config = configFor(cmd);
      const client = await clientFor(config);
      const input: Record<string, unknown> = { reason: `manual backup by ${process.env.USER ?? 'unknown'}` };
      if (o.oci) input.oci = true;
      if (o.keep) input.keep = o.keep;
      return startProcedure(cmd, config, client, { workflowType: 'backup', procedure: 'backup', input, summary: 'Backup (manual)', wait: o.wait });
    }));

  const doctor = program.commands.find((c) => c.name() === 'doctor') ?? program.command('doctor').description('diagnose a subsystem');
  doctor.command('db')
    .description('"database is locked": who holds atlas.db open, the journal mode, WAL back on when safe (never kills)')
    .action(run(async (cmd) => {
      const config = homeConfig(cmd);
      const file = atlasPaths(config.home).atlasDb;
      const report = diagnoseDatabase(file);
      const { holders } = report;
      output(cmd, report, () => [
        `${file}: journal ${report.journalMode ?? '?'}${report.walSwitchedOn ? ' (switched WAL back on)' : ''}, write lock ${report.writeLock}`,
        holders.length ? 'held open by:' : 'no other process holds it open',
        ...holders.map((h) => `  pid ${h.pid}: ${h.command} (${h.files.map((f) => f.slice(file.length) || 'db').join(', ')})`),
        ...report.advice.map((a) => `advice: ${a}`),
        ...(report.error ? [`error: ${report.error}`] : []),
      ]);
      return report.ok ? EXIT.ok : EXIT.failed;
    }));

  const recover = program.command('recover').description('recovery procedures');
  recover.command('corruption')
    .description('the runbook\'s corruption recovery: A (WAL checkpoint) → B (newest good backup) → C (OCI, after approval)')
    .option('--no-oci', 'never offer Option C')
    .option('--approve-oci <workflow-id>', 'approve Option C for the running recovery')
    .option('--backup-id <ocid>', 'with --approve-oci: restore this OCI backup instead of the newest')
    .option('--swapped <workflow-id>', 'the restored volume is attached and mounted: let the recovery check it')
    .option('--by <name>', 'who', process.env.USER)
    .option('--wait', 'follow progress until done')
    .action(run(async (cmd) => {
      const o = cmd.opts();
      // Without these checks a stray --backup-id would start a recovery, and both ids would act on one.
      if (o.approveOci && o.swapped) throw new UsageError('--approve-oci and --swapped: give one (they answer different steps of the recovery)');
      if (o.backupId && !o.approveOci) throw new UsageError(`--backup-id: "${o.backupId}" only goes with --approve-oci <workflow-id> (it picks the OCI backup that approval restores)`);
      const config = configFor(cmd);
      const client = await clientFor(config);
      if (o.approveOci || o.swapped) {
        const id = (o.approveOci ?? o.swapped) as string;
        await requireProcedure(client, id, 'corruptionRecovery');
        const handle = client.workflow.getHandle(id);
        if (o.swapped) {
          await handle.signal(attachmentSwappedSignal, { by: o.by });
          output(cmd, { workflowId: id, signalled: 'attachmentSwapped' }, () => `attachmentSwapped sent to ${id}; follow: atlas-ops status ${id}`);
          return EXIT.ok;
        }
        try {
          const message = await handle.executeUpdate(approveOciRestoreUpdate, { args: [{ by: o.by, backupId: o.backupId }] });
          output(cmd, { workflowId: id, accepted: true, message }, () => message);
          return EXIT.ok;
        } catch (err) {
          const message = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
          output(cmd, { workflowId: id, accepted: false, error: message }, () => `approval refused: ${message}`);
          return EXIT.usage;
        }
      }
      return startSingleton(cmd, config, client, {
        workflowType: 'corruptionRecovery',
        procedure: 'corruptionRecovery',
        name: CORRUPTION_RECOVERY,
        input: { trigger: `atlas-ops recover corruption by ${o.by ?? 'unknown'}`, requestedBy: o.by, allowOci: o.oci !== false },
        summary: 'Corruption recovery (CLI)',
        wait: o.wait,
      });
    }));
}
