// sheetsExport and sheetsImport: run by the schedules atlas-export / atlas-import every few minutes
// and by `atlas-ops sync`. Plain workflows, not procedures: a failed run is recorded and ends; the
// next scheduled run is the retry, and repeated auth/connectivity failures start sheetsOutage.
import { ActivityFailure, ApplicationFailure, proxyActivities, setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import type { HostActivities, WorkflowQueueActivities } from '../activities';
import type { SyncRunResult } from '../activities/sheets';
import { HOME, HOST_QUEUE, inputTable, parseInput, type InputOf } from './lib/input';
import { failure } from '../src/workflow-safe/failures';
import { confirmTarget } from './lib/target';
import { WORKFLOW_QUEUE_STEP_TIMEOUT } from '../src/workflow-safe/limits';

const DRY_RUN = { name: 'dryRun', type: 'boolean', default: false, doc: 'Report what would change; change nothing.' } as const;

export const SHEETS_EXPORT_INPUT = inputTable([
  { name: 'full', type: 'boolean', default: false, doc: 'Rewrite every atlas-owned cell and re-add every missing pending approval (`--full-sync`).' },
  DRY_RUN,
  HOST_QUEUE,
  HOME,
]);

export const SHEETS_IMPORT_INPUT = inputTable([
  { name: 'forceCheck', type: 'boolean', default: false, doc: 'Compare every row with atlas.db even when the sheet has not changed since the last import.' },
  DRY_RUN,
  HOST_QUEUE,
  HOME,
]);

export type SheetsExportInput = InputOf<typeof SHEETS_EXPORT_INPUT>;
export type SheetsImportInput = InputOf<typeof SHEETS_IMPORT_INPUT>;

const context = proxyActivities<WorkflowQueueActivities>({ startToCloseTimeout: WORKFLOW_QUEUE_STEP_TIMEOUT, retry: { maximumAttempts: 10 } });

/** Retries for 429/5xx/network: backoff, or the API's Retry-After when it sent one (nextRetryDelay). */
export const SYNC_RETRY = { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5 } as const;

// Proxies are built synchronously: an activity proxy returned from an async function would be
// probed for `.then` and schedule an activity of that name.
// A heartbeat every 2 s while a run waits on the network: a killed worker's run is retried within 20 s.
const syncActivities = (queue: string) =>
  proxyActivities<HostActivities>({ taskQueue: queue, startToCloseTimeout: '15m', heartbeatTimeout: '20s', retry: SYNC_RETRY });
const recorder = (queue: string) => proxyActivities<HostActivities>({ taskQueue: queue, startToCloseTimeout: '1m', retry: { maximumAttempts: 10 } });

function describe(r: SyncRunResult): string {
  if (r.skipped) return `skipped: ${r.skipped} (the maintenance flag is set)`;
  const what = r.direction === 'export'
    ? `${r.added ?? 0} rows added, ${r.updated ?? 0} updated`
    : r.unchanged ? 'sheet unchanged since the last import' : `${r.applied ?? 0} decisions applied, ${r.alreadyApplied ?? 0} already applied, ${r.notApplied ?? 0} not applied`;
  return `${r.dryRun ? 'dry run (nothing changed): ' : ''}${what}; ${r.requests} Sheets API requests`;
}

async function runSync(direction: 'export' | 'import', asked: { hostQueue?: string; home?: string }, dryRun: boolean, call: (acts: HostActivities, workflowId: string) => Promise<SyncRunResult>): Promise<SyncRunResult> {
  const { workflowId, startTime } = workflowInfo();
  const queue = asked.hostQueue ?? (await context.procedureContext()).hostQueue;
  await confirmTarget(queue, asked);
  const acts = syncActivities(queue);
  try {
    const result = await call(acts, workflowId);
    setCurrentDetails(`**sheets ${direction}**: ${describe(result)}${result.changes.length ? `\n\n${result.changes.map((c) => `- ${c}`).join('\n')}` : ''}`);
    return result;
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const cause = err.cause instanceof ApplicationFailure ? err.cause : undefined;
    const type = cause?.type ?? failure.SyncError.type;
    const message = cause?.message ?? err.message;
    let outage = '';
    if (!dryRun) {
      const rec = await recorder(queue).recordSyncFailure({ direction, workflowId, startedAt: startTime.toISOString(), errorType: type, message, detectOutage: true });
      if (rec.outage) outage = ` Outage procedure ${rec.outage.workflowId} ${rec.outage.started ? 'started' : 'already running'}: ${rec.outage.reason}.`;
    }
    setCurrentDetails(`**sheets ${direction}** failed (${type}): ${message}${outage}`);
    throw ApplicationFailure.create({ type, message: `${message}${outage}`, nonRetryable: true, cause: err });
  }
}

export async function sheetsExport(input?: SheetsExportInput): Promise<SyncRunResult> {
  const { full, dryRun, hostQueue, home } = parseInput('sheetsExport', SHEETS_EXPORT_INPUT, input);
  return runSync('export', { hostQueue, home }, dryRun, (acts, workflowId) => acts.sheetsExportRun({ workflowId, full, dryRun }));
}

export async function sheetsImport(input?: SheetsImportInput): Promise<SyncRunResult> {
  const { forceCheck, dryRun, hostQueue, home } = parseInput('sheetsImport', SHEETS_IMPORT_INPUT, input);
  return runSync('import', { hostQueue, home }, dryRun, (acts, workflowId) => acts.sheetsImportRun({ workflowId, forceCheck, dryRun }));
}
