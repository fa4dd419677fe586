// Weekly backup restore test (test-backup-restore.sh) and monthly disaster-recovery test
// (disaster-recovery-test.sh): restore the newest verified backup somewhere harmless and prove it reads;
// the DR test also restores the continuous replica and measures RPO and RTO.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listBackups, type BackupEntry } from '../db/snapshot';
import { integrityProblems, withDatabase, rowCounts } from '../db/sqlite';
import { ensureHome } from '../home';
import { listVolumeBackups, trialRestoreVolume, type OciVolumeBackup, type TrialRestore } from '../oci/blockstorage';
import { stamp } from '../workflow-safe/stamp';
import { mdTable, withAtlasDb, type Report, type ReportContext } from './report';
import { replicaConfigured } from '../config';
import { restoreReplicaInto } from '../replication/restore';

function newestVerified(ctx: ReportContext): BackupEntry | undefined {
  return listBackups(ctx.paths.backupsDir).find((b) => b.verified);
}

function noBackup(ctx: ReportContext, name: string, title: string): Report {
  return {
    name, title, generatedAt: ctx.now.toISOString(),
    summary: 'FAILED: no verified backup to restore',
    findings: [`no verified backup in ${ctx.paths.backupsDir}: run \`atlas-ops backup\` and check logs/backup.log`],
    data: { ok: false, backup: null }, markdown: [], charts: [],
  };
}

/** Restores into a temp folder, runs integrity_check, compares row counts with the live database. */
export function backupRestoreTest(ctx: ReportContext): Report {
  const backup = newestVerified(ctx);
  if (!backup) return noBackup(ctx, 'backup-restore-test', 'Backup restore test');
  const tolerance = ctx.config.monitoring.restoreTolerancePercent;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-restore-test-'));
  try {
    const copy = path.join(dir, 'atlas.db');
    const t0 = performance.now();
    fs.copyFileSync(backup.path, copy);
    const { problems, restored } = withDatabase(copy, { readonly: true, privateFile: true }, (db) => ({ problems: integrityProblems(db), restored: rowCounts(db) }));
    const restoreMs = Math.round(performance.now() - t0);
    const live = withAtlasDb(ctx, (live) => rowCounts(live));
    const tables = [...new Set([...Object.keys(live), ...Object.keys(restored)])].sort();
    const comparison = tables.map((t) => {
      const a = restored[t] ?? 0;
      const b = live[t] ?? 0;
      const diffPercent = b === 0 ? (a === 0 ? 0 : 100) : Math.round((Math.abs(a - b) / b) * 1000) / 10;
      return { table: t, backup: a, live: b, diffPercent, ok: diffPercent <= tolerance };
    });
    const findings = [
      ...problems.slice(0, 5).map((p) => `integrity_check on the restored copy: ${p}`),
      ...comparison.filter((c) => !c.ok).map((c) => `${c.table}: ${c.backup} rows in the backup against ${c.live} live (${c.diffPercent} % > ${tolerance} %)`),
    ];
    const ok = findings.length === 0;
    return {
      name: 'backup-restore-test',
      title: 'Backup restore test',
      generatedAt: ctx.now.toISOString(),
      summary: `${ok ? 'passed' : 'FAILED'}: ${backup.name} restored in ${restoreMs} ms, integrity ${problems.length ? 'failed' : 'ok'}, row counts ${comparison.every((c) => c.ok) ? `within ${tolerance} %` : 'differ'}`,
      findings,
      data: { ok, backup: backup.name, backupCreatedAt: backup.manifest?.createdAt, restoreMs, integrityOk: problems.length === 0, tolerancePercent: tolerance, comparison },
      markdown: [`Restored \`${backup.name}\` into a temporary folder.`, '', ...mdTable(['table', 'backup', 'live', 'diff %', 'ok'], comparison.map((c) => [c.table, c.backup, c.live, c.diffPercent, c.ok ? 'yes' : 'NO']))],
      charts: [],
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Restores into a scratch Atlas home, reads it as the app would, and measures the recovery time. */
export async function drTest(ctx: ReportContext): Promise<Report> {
  const backup = newestVerified(ctx);
  if (!backup) return noBackup(ctx, 'dr-test', 'Disaster recovery test');
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-dr-test-'));
  try {
    const t0 = performance.now();
    const { paths } = ensureHome(scratch);
    fs.copyFileSync(backup.path, paths.atlasDb);
    const { problems, counts, pending } = withDatabase(paths.atlasDb, { privateFile: true }, (db) => ({
      problems: integrityProblems(db),
      counts: rowCounts(db),
      pending: db.prepare("SELECT count(*) FROM approvals WHERE status = 'pending'").pluck().get() as number,
    }));
    const recoveryMs = Math.round(performance.now() - t0);
    const oci = await newestVolumeBackup(ctx);
    const replica = await replicaDrTest(ctx, scratch);
    const findings = [...problems.slice(0, 5).map((p) => `integrity_check in the scratch home: ${p}`), ...(oci.ok ? [] : [oci.note]), ...(replica.ok === false ? [replica.note] : [])];
    const ok = problems.length === 0 && oci.ok !== false && replica.ok !== false;
    return {
      name: 'dr-test',
      title: 'Disaster recovery test',
      generatedAt: ctx.now.toISOString(),
      summary: `${ok ? 'passed' : 'FAILED'}: ${backup.name} restored into a scratch home and read in ${recoveryMs} ms (${counts.tasks ?? 0} tasks, ${pending} pending approvals)`,
      findings,
      data: { ok, backup: backup.name, recoveryMs, rowCounts: counts, pendingApprovals: pending, integrityOk: ok, oci, replica },
      markdown: [`Recovery time (copy, open, integrity_check, read): **${recoveryMs} ms**.`, '', ...mdTable(['table', 'rows'], Object.entries(counts)), '', `OCI: ${oci.note}.`, '', `Replica: ${replica.note}.`],
      charts: [],
    };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

export interface ReplicaDrResult {
  checked: boolean;
  ok?: boolean;
  note: string;
  /** The replica's newest point (Litestream's LTX time). */
  point?: string;
  /** RTO: rebuild from the replica, integrity_check and read, in ms. */
  restoreMs?: number;
  /** RPO: from the replica's newest point to now, against the live database. */
  lossWindowMs?: number;
  /** Per table: live rows the replica does not have (negative: rows it has that live no longer does). */
  rowsBehind?: Record<string, number>;
}

/**
 * With replication configured: rebuild the replica's newest point into the scratch home, check and
 * read it, and measure the restore time (RTO) and the loss window against the live database (RPO).
 */
async function replicaDrTest(ctx: ReportContext, scratch: string): Promise<ReplicaDrResult> {
  if (!replicaConfigured(ctx.config)) return { checked: false, note: 'replication not configured: replica not checked' };
  const file = path.join(scratch, 'replica.db');
  const t0 = performance.now();
  try {
    const { point } = await restoreReplicaInto(ctx.config, ctx.paths, file, { now: ctx.now });
    const { problems, counts } = withDatabase(file, { privateFile: true }, (db) => ({ problems: integrityProblems(db), counts: rowCounts(db) }));
    const restoreMs = Math.round(performance.now() - t0);
    const live = withAtlasDb(ctx, (db) => rowCounts(db));
    const rowsBehind = Object.fromEntries(Object.keys(live).sort().map((t) => [t, (live[t] ?? 0) - (counts[t] ?? 0)]));
    const lossWindowMs = Math.max(0, ctx.now.getTime() - Date.parse(point));
    const ok = problems.length === 0;
    return {
      checked: true, ok, point, restoreMs, lossWindowMs, rowsBehind,
      note: ok
        ? `newest point ${point} restored and read in ${restoreMs} ms (RTO); loss window against the live database ${lossWindowMs} ms (RPO), ${Object.values(rowsBehind).reduce((a, b) => a + Math.max(0, b), 0)} rows behind`
        : `the replica's newest point ${point} fails integrity_check: ${problems.slice(0, 3).join('; ')}`,
    };
  } catch (err) {
    return { checked: true, ok: false, note: `the replica could not be restored: ${(err as Error).message.split('\n')[0]}` };
  }
}

/** With OCI configured, the newest volume backup must exist and be AVAILABLE. */
/** How long the DR test waits for its scratch volume to become AVAILABLE. */
const TRIAL_RESTORE_TIMEOUT_MS = 30 * 60_000;

/**
 * The newest OCI volume backup, restored into a scratch volume (AVAILABLE, timed) and terminated again:
 * a backup that lists AVAILABLE but cannot be restored from fails the test.
 */
async function newestVolumeBackup(ctx: ReportContext): Promise<{ checked: boolean; ok?: boolean; note: string; newest?: OciVolumeBackup; restore?: TrialRestore }> {
  const { endpoint, volumeId } = ctx.config.oci;
  if (!endpoint || !volumeId) return { checked: false, note: 'OCI not configured: volume backups not checked' };
  try {
    const [newest] = await listVolumeBackups(ctx.config, volumeId);
    if (!newest) return { checked: true, ok: false, note: `no OCI volume backup of ${volumeId} exists: take one (atlas-ops backup --oci)` };
    if (newest.lifecycleState !== 'AVAILABLE') return { checked: true, ok: false, newest, note: `newest OCI volume backup ${newest.displayName} (${newest.timeCreated}) is ${newest.lifecycleState}: it cannot be restored from` };
    const restore = await trialRestoreVolume(ctx.config, volumeId, newest.id, `atlas-dr-test-${stamp(ctx.now.getTime())}`, TRIAL_RESTORE_TIMEOUT_MS);
    const ok = restore.state === 'AVAILABLE' && restore.terminated;
    const what = `newest OCI volume backup ${newest.displayName} (${newest.timeCreated})`;
    const note = restore.state !== 'AVAILABLE'
      ? `${what}: the volume restored from it (${restore.volumeId}) ended ${restore.state} after ${restore.restoreMs} ms`
      : `${what} restored into volume ${restore.volumeId}, AVAILABLE in ${restore.restoreMs} ms${restore.terminated ? ', terminated again' : `, which could NOT be terminated: terminate ${restore.volumeId} by hand`}`;
    return { checked: true, ok, newest, restore, note };
  } catch (err) {
    return { checked: true, ok: false, note: `OCI volume backups could not be listed or restored: ${(err as Error).message.split('\n')[0]}` };
  }
}
