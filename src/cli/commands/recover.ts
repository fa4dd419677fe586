// atlas-ops recover corruption: start the recovery, or answer its Option C steps
// (--approve-oci, --swapped).
import type { Command } from 'commander';
import { CORRUPTION_RECOVERY } from '../../workflow-safe/singletons';
import { approveOciRestoreUpdate, attachmentSwappedUpdate } from '../../../workflows/corruption-recovery';
import type { Action, Run } from '../action';
import { UsageError, nameOption } from '../common';
import { hostOption, requireProcedure, sendUpdate, startSingleton } from '../procedures';
import { shellQuote } from '../../workflow-safe/shell-quote';

interface CorruptionOptions {
  /** False with --no-oci. */
  oci: boolean;
  approveOci?: string;
  backupId?: string;
  swapped?: string;
  by?: string;
  wait?: true;
}

export function registerRecover(program: Command, run: Run): void {
  const recover = program.command('recover').description('recovery procedures');
  recover.command('corruption')
    .description('the runbook\'s corruption recovery: A (WAL checkpoint) → R (replica) or B (newest good backup), whichever loses less → C (OCI, after approval)')
    .option('--no-oci', 'never offer Option C')
    .option('--approve-oci <workflow-id>', 'approve Option C for the running recovery')
    .option('--backup-id <ocid>', 'with --approve-oci: restore this OCI backup instead of the newest')
    .option('--swapped <workflow-id>', 'the restored volume is attached and mounted: let the recovery check it')
    .option('--by <name>', 'who', nameOption('--by'), process.env.USER)
    .addOption(hostOption())
    .option('--wait', 'follow progress until done')
    .action(run<CorruptionOptions>(async (a) => {
      const o = a.opts;
      // Without these checks a stray --backup-id would start a recovery, and both ids would act on one.
      if (o.approveOci && o.swapped) throw new UsageError('--approve-oci and --swapped: give one (they answer different steps of the recovery)');
      if (o.backupId && !o.approveOci) throw new UsageError(`--backup-id: "${o.backupId}" only goes with --approve-oci <workflow-id> (it picks the OCI backup that approval restores)`);
      if (o.approveOci || o.swapped) return answerOptionC(a, (o.approveOci ?? o.swapped)!);
      return startSingleton(a, {
        workflowType: 'corruptionRecovery',
        procedure: 'corruptionRecovery',
        name: CORRUPTION_RECOVERY,
        input: { trigger: `atlas-ops recover corruption by ${o.by ?? 'unknown'}`, requestedBy: o.by, allowOci: o.oci !== false },
        summary: 'Corruption recovery (CLI)',
        wait: o.wait,
      });
    }));
}

/** --approve-oci or --swapped: the operator's answer to the running recovery's Option C. */
async function answerOptionC(a: Action<CorruptionOptions, string[]>, id: string): Promise<number> {
  const o = a.opts;
  const client = await a.client();
  await requireProcedure(client, id, 'corruptionRecovery');
  const handle = client.workflow.getHandle(id);
  // Both are validated updates: refused at once, with the reason, unless the recovery waits for exactly this answer.
  if (o.swapped) return sendUpdate(a, id, 'swap', () => handle.executeUpdate(attachmentSwappedUpdate, { args: [{ by: o.by }] }), (message) => `${message}; follow: atlas-ops status ${shellQuote(id)}`);
  return sendUpdate(a, id, 'approval', () => handle.executeUpdate(approveOciRestoreUpdate, { args: [{ by: o.by, backupId: o.backupId }] }));
}
