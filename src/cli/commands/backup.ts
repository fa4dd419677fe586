// atlas-ops backup [--oci] [--keep <n>]
import type { Command } from 'commander';
import type { Run } from '../action';
import { UsageError, parseIntOption } from '../common';
import { hostOption, startProcedure } from '../procedures';

export function registerBackup(program: Command, run: Run): void {
  program.command('backup')
    .description('a verified local backup now (the schedule atlas-backup runs it daily), with retention')
    .option('--oci', 'also take an OCI block-volume backup')
    .option('--keep <n>', 'verified backups to keep', parseIntOption('--keep'))
    .addOption(hostOption())
    .option('--wait', 'follow progress until done')
    .action(run<{ oci?: true; keep?: number; wait?: true }>(async (a) => {
      const { oci, keep, wait } = a.opts;
      if (keep === 0) throw new UsageError('--keep: must be at least 1 (the newest verified backup is always kept)');
      return startProcedure(a, {
        workflowType: 'backup',
        procedure: 'backup',
        input: { reason: `manual backup by ${process.env.USER ?? 'unknown'}`, oci, keep },
        summary: 'Backup (manual)',
        wait,
      });
    }));
}
