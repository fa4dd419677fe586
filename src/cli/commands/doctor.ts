// atlas-ops doctor sheets | db
import type { Command } from 'commander';
import { requireHome } from '../../config';
import { diagnoseDatabase } from '../../db/doctor';
import { atlasPaths } from '../../paths';
import type { Run } from '../action';
import { EXIT } from '../common';

export function registerDoctor(program: Command, run: Run): void {
  const doctor = program.command('doctor').description('diagnose a part of the system');
  sheetsCommand(doctor, run);
  dbCommand(doctor, run);
}

function sheetsCommand(doctor: Command, run: Run): void {
  doctor
    .command('sheets')
    .description('test-sheets-auth: DNS, TCP, HTTPS, credentials and the spreadsheet; --permissions also reads and writes')
    .option('--permissions', 'test-sheets-permissions: read the Approvals header and write an unchanged Status cell')
    .action(run<{ permissions?: true }>(async (a) => {
      const { config } = a;
      // Required here, not imported at the top: the connectivity checks and the Sheets client, which the
      // other commands do not need (docs/performance.md#cli-start-up). import() would bypass the tsx require hook.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { checkConnectivity } = require('../../sheets/doctor') as typeof import('../../sheets/doctor');
      const report = await checkConnectivity(config, { permissions: a.opts.permissions === true });
      a.output(report, () => [
        ...report.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name.padEnd(11)} ${c.detail} (${c.ms} ms)`),
        report.ok ? 'Sheets: ok' : `Sheets: failing at ${report.failed}${report.errorType ? ` (${report.errorType})` : ''}`,
      ]);
      return report.ok ? EXIT.ok : EXIT.failed;
    }));
}

function dbCommand(doctor: Command, run: Run): void {
  doctor
    .command('db')
    .description('"database is locked": who holds atlas.db open, the journal mode, WAL back on when safe (never kills)')
    .action(run(async (a) => {
      requireHome(a.config);
      const file = atlasPaths(a.config.home).atlasDb;
      const report = diagnoseDatabase(file);
      const { holders } = report;
      a.output(report, () => [
        `${file}: journal ${report.journalMode ?? '?'}${report.walSwitchedOn ? ' (switched WAL back on)' : ''}, write lock ${report.writeLock}`,
        holders.length ? 'held open by:' : 'no other process holds it open',
        ...holders.map((h) => `  pid ${h.pid}: ${h.command} (${h.files.map((f) => f.slice(file.length) || 'db').join(', ')})`),
        ...report.advice.map((a) => `advice: ${a}`),
        ...(report.error ? [`error: ${report.error}`] : []),
      ]);
      return report.ok ? EXIT.ok : EXIT.failed;
    }));
}
