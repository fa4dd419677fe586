// backup.sh as a workflow: a verified local backup with its manifest, retention, and (with
// `oci: true`) an OCI block-volume backup. Run daily by the schedule `atlas-backup` with `{}`.
import type { BackupManifest } from '../src/db/snapshot';
import { DECISION_TIMEOUT, HOME, HOST_QUEUE, inputTable, type InputOf } from './lib/input';
import type { Actor } from './lib/procedure';
import { stamp } from '../src/workflow-safe/stamp';
import { runProcedure } from './lib/template';
import { failure } from '../src/workflow-safe/failures';

export const BACKUP_INPUT = inputTable([
  { name: 'oci', type: 'boolean', default: false, doc: 'Also take an OCI block-volume backup of the volume that holds the Atlas home.' },
  { name: 'keep', type: 'positiveInt', doc: 'Verified local backups to keep (default: configuration backup.keep, 7).' },
  { name: 'reason', type: 'text', default: 'scheduled backup', doc: 'Why: recorded in the manifest.' },
  DECISION_TIMEOUT,
  HOST_QUEUE,
  HOME,
]);

export type BackupInput = InputOf<typeof BACKUP_INPUT>;

export interface BackupResult {
  outcome: 'completed' | 'skipped' | 'aborted';
  workflowId: string;
  /** Why nothing was done (maintenance flag). */
  skippedBecause?: string;
  backup?: { file: string; size: number; sha256: string; rowCounts: Record<string, number>; timings: BackupManifest['timings'] };
  retention?: { kept: string[]; removed: string[]; keptUnverifiable: { name: string; problem: string }[]; bytesFreed: number };
  oci?: { skipped: boolean; backupId?: string; state?: string };
  phaseMs: Record<string, number>;
}

export function backup(input?: BackupInput): Promise<BackupResult> {
  return runProcedure({ name: 'backup', input: BACKUP_INPUT, failure: failure.BackupFailed }, input, (p, { oci, keep, reason }) => {
    const wf = p.workflowId;
    const result: BackupResult = { outcome: 'completed', workflowId: wf, phaseMs: {} };

    /** While the maintenance flag exists, no backup touches atlas.db: record a skip instead. */
    const skipForMaintenance = async (): Promise<boolean> => {
      p.phase('check', 'Checking the maintenance flag (while it exists, no backup touches atlas.db).');
      const flag = await p.acts.maintenanceFlagStatus();
      if (!flag.set) return false;
      result.outcome = 'skipped';
      result.skippedBecause = `maintenance flag data/.maintenance is set${flag.holder ? ` (${flag.holder})` : ''}`;
      await p.acts.logBackupEvent({ event: 'backup-skipped', workflowId: wf, message: result.skippedBecause });
      await p.record(`backup skipped: ${result.skippedBecause}`);
      p.finish('completed', `Skipped: ${result.skippedBecause}.`);
      result.phaseMs = p.phaseDurations();
      return true;
    };

    return {
      result,
      async run() {
        if (await skipForMaintenance()) return;

        p.phase('snapshot', 'Taking a verified local backup of atlas.db (copy, integrity_check, manifest).');
        // Corruption is not the backup's to mend: corruptionRecovery has been started (or alerted).
        const snap = await p.step('snapshot', () => p.long.snapshotAtlasDb({ reason: `${reason} (${wf})`, idempotencyKey: `${wf}/snapshot` }), { fatal: [failure.DatabaseCorrupt.type] });
        result.backup = { file: snap.file, size: snap.size, sha256: snap.sha256, rowCounts: snap.rowCounts, timings: snap.timings };

        if (oci) {
          p.phase('oci', 'Taking an OCI block-volume backup and waiting until it is AVAILABLE.');
          const volume = await p.step('OCI volume backup', (attempt) => p.long.ociVolumeBackup({ displayName: `atlas-backup-${stamp(Date.now())}`, idempotencyKey: `${wf}/oci/${attempt}` }), { skippable: true });
          result.oci = { skipped: volume.skipped, backupId: volume.value?.backupId, state: volume.value?.state };
        }

        // Retention runs after the new backup is verified, so it can never leave fewer verified ones.
        p.phase('retention', `Keeping the ${keep ?? 'configured number of'} newest verified backups.`);
        const pruned = (await p.step('retention', () => p.acts.pruneLocalBackups({ keep, reason: `backup ${wf}` }), { skippable: true })).value;
        if (pruned) result.retention = { kept: pruned.kept, removed: pruned.removed, keptUnverifiable: pruned.keptUnverifiable ?? [], bytesFreed: pruned.bytesFreed };
        // A backup without a manifest that fails integrity_check is kept for a person to judge: say so.
        const unverifiable = result.retention?.keptUnverifiable ?? [];
        if (unverifiable.length) {
          await p.acts.raiseAlert({ code: 'backup-unverifiable', level: 'warning', message: `Retention kept ${unverifiable.length} backup(s) without a manifest that fail integrity_check: ${unverifiable.map((u) => `${u.name} (${u.problem})`).join('; ').slice(0, 1000)}` });
        }

        result.phaseMs = p.phaseDurations();
        p.finish('completed', `Backup \`${snap.file}\` verified (${snap.size} bytes)${pruned?.removed.length ? `; removed ${pruned.removed.length} old backup(s)` : ''}.`);
        await p.record(`backup ${snap.file} verified${result.oci?.backupId ? `, OCI backup ${result.oci.backupId}` : ''}`);
      },
      async aborted(actor: Actor) {
        result.outcome = 'aborted';
        result.phaseMs = p.phaseDurations();
        p.finish('aborted', `Aborted${actor.by ? ` by ${actor.by}` : ''}; nothing to undo (a backup never changes atlas.db).`);
      },
      async failed(error) {
        await p.acts.logBackupEvent({ event: 'backup-failed', workflowId: wf, message: error.message });
      },
    };
  });
}
