// atlas-ops migrate-timers [--dry-run]: from the legacy systemd timers to Temporal Schedules.
import type { Command } from 'commander';
import { NoSystemdError, migrateTimers } from '../../migrate-timers';
import type { Run } from '../action';
import { EXIT } from '../common';
import { registeredWorkflowTypes } from './schedules';

export function registerMigrateTimers(program: Command, run: Run): void {
  program
    .command('migrate-timers')
    .description('stop, disable and mask the legacy atlas-*.timer units that a schedule replaces, then apply the schedules (run as root)')
    .option('--dry-run', 'show what would be done; change nothing')
    .action(run<{ dryRun?: true }>(async (a) => {
      const dryRun = a.opts.dryRun === true;
      const { config } = a;
      let report;
      try {
        report = await migrateTimers(dryRun ? undefined : await a.client(), config, { dryRun, registeredTypes: registeredWorkflowTypes() });
      } catch (err) {
        if (!(err instanceof NoSystemdError)) throw err;
        a.output({ systemd: false, dryRun, changed: false, message: err.message }, () => err.message);
        return EXIT.failed;
      }
      a.output(report, () => [
        ...report.timers.map((t) => `${t.unit.padEnd(22)} ${t.state.padEnd(9)} ${t.action === 'migrate' ? (dryRun ? 'would migrate' : 'migrated') : t.action}: ${t.reason}`),
        ...(report.timers.length ? [] : ['no atlas-*.timer units on this host']),
        ...report.commands.map((c) => `${dryRun ? 'would run' : 'ran'}: ${c}`),
        ...(report.wouldApply ? [`would apply schedules: ${report.wouldApply.join(', ') || '-'}`] : []),
        ...(report.schedules ? [`schedules created: ${report.schedules.created.join(', ') || '-'}; updated: ${report.schedules.updated.join(', ') || '-'}`] : []),
        report.message,
      ]);
      return report.failed ? EXIT.failed : EXIT.ok;
    }));
}
