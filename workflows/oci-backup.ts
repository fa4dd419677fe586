// The `atlas-oci-backup` schedule's workflow (weekly by default): an OCI block-volume backup of the
// volume that holds the Atlas home, then retention of the volume backups atlas-ops made
// (docs/procedures.md#oci-volume-backups). Both steps are idempotent: a retried create returns the
// backup the first made (opc-retry-token), and a retried retention deletes nothing twice.
import { DECISION_TIMEOUT, HOME, HOST_QUEUE, inputTable, type InputOf } from './lib/input';
import type { Actor } from './lib/procedure';
import { stamp } from '../src/workflow-safe/stamp';
import { runProcedure } from './lib/template';
import { failure } from '../src/workflow-safe/failures';
import type { OciRetention } from '../activities/oci';

export const OCI_BACKUP_INPUT = inputTable([
  { name: 'keep', type: 'positiveInt', doc: 'AVAILABLE volume backups made by atlas-ops to keep (default: configuration oci.keepBackups, 4).' },
  DECISION_TIMEOUT,
  HOME,
  HOST_QUEUE,
]);

export type OciBackupInput = InputOf<typeof OCI_BACKUP_INPUT>;

export interface OciBackupResult {
  outcome: 'completed' | 'aborted';
  workflowId: string;
  backup?: { backupId: string; state: string; displayName: string };
  retention?: OciRetention;
  phaseMs: Record<string, number>;
}

export function ociBackup(input?: OciBackupInput): Promise<OciBackupResult> {
  return runProcedure({ name: 'ociBackup', input: OCI_BACKUP_INPUT, failure: failure.BackupFailed }, input, (p, { keep }) => {
    const wf = p.workflowId;
    const result: OciBackupResult = { outcome: 'completed', workflowId: wf, phaseMs: {} };
    // Named once: Temporal's retries of an attempt send the same name and key, so the same
    // opc-retry-token (one backup); an operator's retry after a FAULTY one (attempt 2) asks for a new one.
    const displayName = `atlas-oci-backup-${stamp(Date.now())}`;
    return {
      result,
      async run() {
        p.phase('oci', 'Taking an OCI block-volume backup and waiting until it is AVAILABLE.');
        const made = await p.step('OCI volume backup', (attempt) => p.long.ociVolumeBackup({ displayName, idempotencyKey: `${wf}/oci/${attempt}` }));
        result.backup = { ...made, displayName };
        // Retention only after the new backup is AVAILABLE: it can never leave fewer good backups.
        p.phase('retention', `Keeping the ${keep ?? 'configured number of'} newest AVAILABLE volume backups made by atlas-ops.`);
        result.retention = await p.step('OCI retention', () => p.long.ociPruneVolumeBackups({ keep, workflowId: wf }));
        result.phaseMs = p.phaseDurations();
        p.finish('completed', `OCI backup \`${made.backupId}\` AVAILABLE; ${result.retention.deleted.length} old backup(s) deleted, ${result.retention.kept.length} kept.`);
        await p.record(`OCI backup ${made.backupId} AVAILABLE; retention deleted ${result.retention.deleted.join(', ') || 'none'}`);
      },
      async aborted(actor: Actor) {
        result.outcome = 'aborted';
        result.phaseMs = p.phaseDurations();
        p.finish('aborted', `Aborted${actor.by ? ` by ${actor.by}` : ''}; a volume backup already requested stays (retention keeps it).`);
      },
    };
  });
}
