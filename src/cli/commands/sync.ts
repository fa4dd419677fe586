// atlas-ops sync export | import | health
import type { Command } from 'commander';
import type { SyncRunResult } from '../../../activities/sheets';
import { requireHome } from '../../config';
import { openOpsDb } from '../../db/ops-db';
import { atlasPaths } from '../../paths';
import { syncHealth } from '../../sheets/runs';
import { startWorkflow, type WorkflowInput, type Workflows } from '../../temporal/start';
import type { Action, Run } from '../action';
import { ALWAYS_WAITS, EXIT, UsageError, link, newWorkflowId } from '../common';
import { failureMessage } from '../follow';
import { withTargetHome } from '../procedures';

export function registerSync(program: Command, run: Run): void {
  const sync = program.command('sync').description('Google Sheets sync (the atlas-export / atlas-import schedules run the same workflows)');
  exportCommand(sync, run);
  importCommand(sync, run);
  healthCommand(sync, run);
}

function exportCommand(sync: Command, run: Run): void {
  sync
    .command('export')
    .description('export pending approvals to the sheet (sheetsExport)')
    .option('--full', 'rewrite every atlas-owned cell and re-add missing pending approvals (--full-sync)')
    .option('--dry-run', 'print what would change and change nothing')
    .option('--wait', ALWAYS_WAITS)
    .action(run<{ full?: true; dryRun?: true }>(async (a) =>
      runSyncWorkflow(a, 'sheetsExport', { full: a.opts.full === true, dryRun: a.opts.dryRun === true }),
    ));
}

function importCommand(sync: Command, run: Run): void {
  sync
    .command('import')
    .description('apply decisions typed in the sheet to atlas.db (sheetsImport)')
    .option('--force-check', 'compare every row with atlas.db even if the sheet has not changed')
    .option('--dry-run', 'print what would be applied and change nothing')
    .option('--wait', ALWAYS_WAITS)
    .action(run<{ forceCheck?: true; dryRun?: true }>(async (a) =>
      runSyncWorkflow(a, 'sheetsImport', { forceCheck: a.opts.forceCheck === true, dryRun: a.opts.dryRun === true }),
    ));
}

/** Runs one sync now, as its schedule would, and prints what it did. */
async function runSyncWorkflow<T extends 'sheetsExport' | 'sheetsImport'>(a: Action<unknown, unknown[]>, workflowType: T, input: WorkflowInput<Workflows[T]>): Promise<number> {
  const { config } = a;
  const client = await a.client();
  const workflowId = newWorkflowId(workflowType === 'sheetsExport' ? 'sheets-export' : 'sheets-import');
  const handle = await startWorkflow(client, workflowType, await withTargetHome<T>(a, input), {
    taskQueue: config.taskQueue,
    workflowId,
    staticSummary: `${workflowType} from the CLI ${JSON.stringify(input)}`,
  });
  const url = link(config, workflowId);
  let result: SyncRunResult;
  try {
    // Both sync workflows return a SyncRunResult, which a generic T hides from the compiler.
    result = (await handle.result()) as SyncRunResult;
  } catch (err) {
    const error = failureMessage(err);
    a.output({ workflowId, url, ok: false, error }, () => [`${workflowType} ${workflowId} failed: ${error}`, `  ${url}`]);
    return EXIT.failed;
  }
  a.output({ workflowId, url, ok: true, result }, () => syncResultLines(`${workflowType} ${workflowId}`, result, url));
  return EXIT.ok;
}

function syncResultLines(run: string, result: SyncRunResult, url: string): string[] {
  if (result.skipped) return [`${run}: skipped (maintenance flag set; nothing done)`];
  const lines = [
    `${run}${result.dryRun ? ' (dry run: nothing changed)' : ''}`,
    `  rows read ${result.rowsRead}, rows written ${result.rowsWritten}, Sheets API requests ${result.requests}`,
  ];
  if (result.direction === 'export') lines.push(`  added ${result.added ?? 0}, updated ${result.updated ?? 0}${result.tabsCreated?.length ? `, tabs created ${result.tabsCreated.join(', ')}` : ''}`);
  else if (result.unchanged) lines.push('  the sheet has not changed since the last import (use --force-check to compare every row)');
  else lines.push(`  applied ${result.applied ?? 0}, already applied ${result.alreadyApplied ?? 0}, not applied ${result.notApplied ?? 0}${result.transactionMs !== undefined ? `, transaction ${result.transactionMs} ms` : ''}`);
  for (const c of result.changes) lines.push(`  ${result.dryRun ? 'would ' : ''}${c}`);
  lines.push(`  ${url}`);
  return lines;
}

function healthCommand(sync: Command, run: Run): void {
  sync
    .command('health')
    .description('check-sync-health: success rate, last success and lag of each direction (exit 1 when unhealthy)')
    .option('--hours <n>', 'window', '24')
    .action(run<{ hours: string }>(async (a) => {
      const { config } = a;
      requireHome(config);
      const hours = Number(a.opts.hours);
      if (!Number.isFinite(hours) || hours <= 0) throw new UsageError(`--hours: "${a.opts.hours}" is not a positive number`);
      const db = openOpsDb(atlasPaths(config.home).opsDb);
      let h;
      try {
        h = syncHealth(db, new Date(), { successPercent: config.thresholds.syncSuccessPercent, offlineAfterMs: config.thresholds.syncOffline }, hours * 3_600_000);
      } finally {
        db.close();
      }
      const pct = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(1)} %`);
      a.output(h, () => [
        `sync ${h.healthy ? 'healthy' : 'UNHEALTHY'}: success ${pct(h.successPercent)} over ${h.windowHours} h (threshold ${config.thresholds.syncSuccessPercent} %)`,
        ...h.directions.flatMap((d) => [
          `  ${d.direction}: ${d.runs} runs (${d.ok} ok, ${d.failed} failed, ${d.skipped} skipped), last success ${d.lastSuccess ?? 'never'}${d.lagMs !== undefined ? ` (${Math.round(d.lagMs / 60_000)} min ago)` : ''}`,
          ...(d.lastError ? [`    last error: ${d.lastError}`] : []),
        ]),
        ...h.problems.map((p) => `  problem: ${p}`),
      ]);
      return h.healthy ? EXIT.ok : EXIT.failed;
    }));
}
