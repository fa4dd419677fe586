// atlas-ops disk-emergency [--dry-run] [--threshold <percent>]
import type { Command } from 'commander';
import { DISK_EMERGENCY } from '../../workflow-safe/singletons';
import type { Run } from '../action';
import { UsageError, parseIntOption } from '../common';
import { hostOption, startSingleton } from '../procedures';

export function registerDiskEmergency(program: Command, run: Run): void {
  program.command('disk-emergency')
    .description('the runbook\'s disk space emergency: rotate logs, prune backups to the newest verified, vacuum the journal, until under the threshold')
    .option('--dry-run', 'say what each step would free; change nothing')
    .option('--threshold <percent>', 'stop once usage is below this (default: thresholds.diskPercent)', parseIntOption('--threshold'))
    .addOption(hostOption())
    .option('--wait', 'follow progress until done')
    .action(run<{ dryRun?: true; threshold?: number; wait?: true }>(async (a) => {
      const { dryRun, threshold, wait } = a.opts;
      if (threshold !== undefined && (threshold < 1 || threshold > 100)) throw new UsageError(`--threshold: ${threshold} is not a percentage between 1 and 100`);
      return startSingleton(a, {
        workflowType: 'diskEmergency',
        procedure: 'diskEmergency',
        name: DISK_EMERGENCY,
        input: { trigger: `atlas-ops disk-emergency by ${process.env.USER ?? 'unknown'}`, dryRun, thresholdPercent: threshold },
        summary: `Disk emergency${dryRun ? ' (dry run)' : ''}`,
        wait,
      });
    }));
}
