// backup.sh as a workflow: a verified local backup with its manifest, retention, and (with
// `oci: true`) an OCI block-volume backup. Run daily by the schedule `atlas-backup` with `{}`.
import { ApplicationFailure } from '@temporalio/workflow';
import type { BackupManifest } from '../src/db/snapshot';
import { inputObject, optionalBoolean, optionalDuration, optionalPositiveInt, optionalString, rejectUnknown } from './lib/input';
import { AbortRequested, Procedure } from './lib/procedure';
import { stamp } from '../src/workflow-safe/stamp';
import { failure } from '../src/workflow-safe/failures';

export interface BackupInput {
  /** Also take an OCI block-volume backup of the volume that holds the Atlas home. */
  oci?: boolean;
  /** Verified local backups to keep (default: configuration backup.keep, 7). */
  keep?: number;
  reason?: string;
  decisionTimeout?: string | number;
  hostQueue?: string;
}

export interface BackupResult {
  outcome: 'completed' | 'skipped' | 'aborted';
  workflowId: string;
  /** Why nothing was done (maintenance flag). */
  skippedBecause?: string;
  backup?: { file: string; size: number; sha256: string; rowCounts: Record<string, number>; timings: BackupManifest['timings'] };
  retention?: { kept: string[]; removed: string[]; bytesFreed: number };
  oci?: { skipped: boolean; backupId?: string; state?: string };
  phaseMs: Record<string, number>;
}

const FIELDS = ['oci', 'keep', 'reason', 'decisionTimeout', 'hostQueue'] as const;

export async function backup(rawInput?: BackupInput): Promise<BackupResult> {
  const input = inputObject(rawInput, 'backup');
  rejectUnknown(input, FIELDS);
  const wantOci = optionalBoolean(input, 'oci') ?? false;
  const keep = optionalPositiveInt(input, 'keep');
  const reason = optionalString(input, 'reason') ?? 'scheduled backup';
  const decisionTimeout = optionalDuration(input, 'decisionTimeout');
  const hostQueue = optionalString(input, 'hostQueue');

  const p = await Procedure.start('backup', { decisionTimeout, hostQueue });
  const wf = p.workflowId;
  const result: BackupResult = { outcome: 'completed', workflowId: wf, phaseMs: {} };
  p.status.facts = result as unknown as Record<string, unknown>;

  try {
    p.phase('check', 'Checking the maintenance flag (while it exists, no backup touches atlas.db).');
    const flag = await p.acts.maintenanceFlagStatus();
    if (flag.set) {
      result.outcome = 'skipped';
      result.skippedBecause = `maintenance flag data/.maintenance is set${flag.holder ? ` (${flag.holder})` : ''}`;
      await p.acts.logBackupEvent({ event: 'backup-skipped', workflowId: wf, message: result.skippedBecause });
      await p.record(`backup skipped: ${result.skippedBecause}`);
      p.finish('completed', `Skipped: ${result.skippedBecause}.`);
      result.phaseMs = p.phaseDurations();
      return result;
    }

    p.phase('snapshot', 'Taking a verified local backup of atlas.db (copy, integrity_check, manifest).');
    // Corruption is not the backup's to mend: corruptionRecovery has been started (or alerted).
    const snap = (await p.step('snapshot', () => p.long.snapshotAtlasDb({ reason: `${reason} (${wf})`, idempotencyKey: `${wf}/snapshot` }), { fatal: [failure.DatabaseCorrupt.type] })).value!;
    result.backup = { file: snap.file, size: snap.size, sha256: snap.sha256, rowCounts: snap.rowCounts, timings: snap.timings };

    if (wantOci) {
      p.phase('oci', 'Taking an OCI block-volume backup and waiting until it is AVAILABLE.');
      const oci = await p.step('OCI volume backup', () => p.long.ociVolumeBackup({ displayName: `atlas-backup-${stamp(Date.now())}`, idempotencyKey: `${wf}/oci` }), { skippable: true });
      result.oci = { skipped: oci.skipped, backupId: oci.value?.backupId, state: oci.value?.state };
    }

    // Retention runs after the new backup is verified, so it can never leave fewer verified ones.
    p.phase('retention', `Keeping the ${keep ?? 'configured number of'} newest verified backups.`);
    const pruned = (await p.step('retention', () => p.acts.pruneLocalBackups({ keep, reason: `backup ${wf}` }), { skippable: true })).value;
    if (pruned) result.retention = { kept: pruned.kept, removed: pruned.removed, bytesFreed: pruned.bytesFreed };

    result.phaseMs = p.phaseDurations();
    p.finish('completed', `Backup \`${snap.file}\` verified (${snap.size} bytes)${pruned?.removed.length ? `; removed ${pruned.removed.length} old backup(s)` : ''}.`);
    await p.record(`backup ${snap.file} verified${result.oci?.backupId ? `, OCI backup ${result.oci.backupId}` : ''}`);
    return result;
  } catch (err) {
    if (err instanceof AbortRequested) {
      result.outcome = 'aborted';
      result.phaseMs = p.phaseDurations();
      p.finish('aborted', `Aborted${err.actor.by ? ` by ${err.actor.by}` : ''}; nothing to undo (a backup never changes atlas.db).`);
      return result;
    }
    p.finish('failed', `Failed: ${(err as Error).message}`);
    await p.acts.logBackupEvent({ event: 'backup-failed', workflowId: wf, message: (err as Error).message });
    if (err instanceof ApplicationFailure) throw err;
    throw failure.BackupFailed(`backup ${wf} failed: ${(err as Error).message}`);
  }
}
