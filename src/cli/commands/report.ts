// atlas-ops report <name> [--since 7d|2026-11-01]
import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import { requireHome } from '../../config';
import { openOpsDb } from '../../db/ops-db';
import { atlasPaths } from '../../paths';
import { REPORT_NAMES, REPORTS, reportName, runReport, type ReportName } from '../../reports';
import { parseSince } from '../../reports/report';
import { TemporalUnreachableError } from '../../temporal/connect';
import type { Action, Run } from '../action';
import { EXIT, UsageError } from '../common';

/** Reports that read Temporal (visibility, schedules); the others need no server. */
const NEEDS_TEMPORAL = new Set(['performance', 'security']);

export function registerReport(program: Command, run: Run): void {
  program
    .command('report')
    .description(`write one report now into <home>/reports/ (Markdown, JSON, SVG): ${REPORT_NAMES.join(', ')}`)
    .argument('<name>', REPORT_NAMES.map((n) => `${n}: ${REPORTS[n].doc}`).join('; '))
    .option('--since <when>', 'period start: a duration back ("7d", "12h") or a date ("2026-11-01")')
    .action(run<{ since?: string }, [string]>(async (a) => {
      const [raw] = a.args;
      const { config } = a;
      let name;
      let since: Date | undefined;
      try {
        name = reportName(raw);
        if (a.opts.since !== undefined) since = parseSince(String(a.opts.since), new Date());
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      requireHome(config);
      const paths = atlasPaths(config.home);
      const ops = openOpsDb(paths.opsDb);
      try {
        const r = await runReport(name, { config, paths, ops, now: new Date(), since, client: await clientIfNeeded(a, name) });
        a.output(r, () => [
          `${name}: ${r.summary}`,
          ...r.findings.map((f) => `  ! ${f}`),
          `  ${r.files.markdown}`,
          `  ${r.files.json}`,
          ...r.files.charts.map((c) => `  ${c}`),
        ]);
        return r.findings.length && name === 'security' ? EXIT.failed : EXIT.ok;
      } finally {
        ops.close();
      }
    }));
}

/** A client for the reports that read Temporal; without Temporal they say what was not checked. */
async function clientIfNeeded(a: Action<unknown, unknown[]>, name: ReportName): Promise<Client | undefined> {
  if (!NEEDS_TEMPORAL.has(name)) return undefined;
  try {
    return await a.client();
  } catch (err) {
    if (!(err instanceof TemporalUnreachableError)) throw err;
    process.stderr.write(`atlas-ops: ${err.message}; the ${name} report goes on without the Temporal parts\n`);
    return undefined;
  }
}
