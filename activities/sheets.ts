// Sheets activities: export, import, the failure record that detects outages, connectivity checks
// and the Status banner. The Sheets client (and so the credentials) exists only in here; results
// carry counts and short samples, never keys and never the whole sheet.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { appendLog } from '../src/log';
import { SheetsError, sheetsApi } from '../src/sheets/client';
import { checkConnectivity, type ConnectivityReport } from '../src/sheets/doctor';
import { getState, outageReason, recordRun, setState, type Direction } from '../src/sheets/runs';
import { exportApprovals, importDecisions, setBanner } from '../src/sheets/sync';
import { startOnce } from '../src/temporal/start';
import type { sheetsOutage } from '../workflows/sheets-outage';
import { OUTAGE_SINGLETON, OUTAGE_WORKFLOW } from '../src/workflow-safe/singletons';
import type { ActivityContext } from './deps';
import { corruptionFailure } from './db';
import { failure } from '../src/workflow-safe/failures';
import { readMaintenanceFlag } from '../src/maintenance-flag';

const SAMPLE = 20;

export interface SyncRunResult {
  direction: Direction;
  skipped?: 'maintenance';
  dryRun: boolean;
  rowsRead: number;
  rowsWritten: number;
  requests: number;
  /** export */
  added?: number;
  updated?: number;
  tabsCreated?: string[];
  /** import */
  applied?: number;
  appliedSample?: { id: string; status: string; row: number }[];
  alreadyApplied?: number;
  notApplied?: number;
  notAppliedSample?: { row: number; id: string; reason: string }[];
  unchanged?: boolean;
  transactionMs?: number;
  /** What changed (or would change in a dry run), first few. */
  changes: string[];
}

/**
 * The ApplicationFailure a workflow sees for anything but corruption (reported by the caller through
 * corruptionFailure): typed, retryable only where a retry can help, honouring Retry-After.
 */
function toFailure(err: unknown): ApplicationFailure {
  if (err instanceof SheetsError) {
    return failure[err.type](err.message, err.options.retryAfterMs !== undefined ? { nextRetryDelay: err.options.retryAfterMs } : {});
  }
  return failure.SyncError((err as Error).message ?? String(err));
}

/** Heartbeats while a run waits on the network, so a killed worker's run is retried promptly. */
async function withHeartbeat<T>(fn: () => Promise<T>): Promise<T> {
  let ctx: Context | undefined;
  try {
    ctx = Context.current();
  } catch {
    /* called outside an activity (tests, CLI) */
  }
  const timer = ctx ? setInterval(() => ctx!.heartbeat(), 2000) : undefined;
  try {
    ctx?.heartbeat();
    return await fn();
  } finally {
    if (timer) clearInterval(timer);
  }
}

export function createSheetsActivities(ctx: ActivityContext) {
  const { paths } = ctx;
  const fingerprintKey = () => `import.fingerprint:${ctx.config.sheets.spreadsheetId}`;

  /** Common frame of a run: the maintenance check, the log line, the sync_runs row. */
  async function run(direction: Direction, workflowId: string, dryRun: boolean, body: () => Promise<SyncRunResult>): Promise<SyncRunResult> {
    const startedAt = ctx.now().toISOString();
    const log = paths.log(direction);
    if (readMaintenanceFlag(paths.maintenanceFlag).set) {
      recordRun(ctx.opsDb(), { direction, workflowId, startedAt, finishedAt: ctx.now().toISOString(), outcome: 'skipped', error: 'skipped: maintenance' });
      appendLog(log, { event: `${direction}-skipped`, workflowId, reason: 'maintenance flag present' });
      return { direction, skipped: 'maintenance', dryRun, rowsRead: 0, rowsWritten: 0, requests: 0, changes: [] };
    }
    try {
      const result = await withHeartbeat(body);
      if (!dryRun) {
        recordRun(ctx.opsDb(), { direction, workflowId, startedAt, finishedAt: ctx.now().toISOString(), rowsRead: result.rowsRead, rowsWritten: result.rowsWritten, requests: result.requests, outcome: 'ok' });
      }
      const { changes: _changes, appliedSample: _a, notAppliedSample: _n, ...counts } = result;
      appendLog(log, { event: `${direction}-${dryRun ? 'dry-run' : 'ok'}`, workflowId, ...counts });
      return result;
    } catch (err) {
      // Corruption is not a Sheets problem: the critical alert and corruption recovery, as the snapshot does.
      const failure = (await corruptionFailure(ctx, err, paths.atlasDb)) ?? toFailure(err);
      appendLog(log, { event: `${direction}-attempt-failed`, workflowId, type: failure.type, message: failure.message });
      throw failure;
    }
  }

  return {
    async sheetsExportRun(input: { workflowId: string; full?: boolean; dryRun?: boolean }): Promise<SyncRunResult> {
      const dryRun = input.dryRun === true;
      return run('export', input.workflowId, dryRun, async () => {
        const r = await exportApprovals(sheetsApi(ctx.config), paths.atlasDb, { full: input.full, dryRun, now: ctx.now() });
        return {
          direction: 'export', dryRun, rowsRead: r.rowsRead, rowsWritten: r.rowsWritten, requests: r.requests,
          added: r.added, updated: r.updated, tabsCreated: r.tabsCreated, changes: r.changes,
        };
      });
    },

    async sheetsImportRun(input: { workflowId: string; forceCheck?: boolean; dryRun?: boolean }): Promise<SyncRunResult> {
      const dryRun = input.dryRun === true;
      return run('import', input.workflowId, dryRun, async () => {
        const r = await importDecisions(sheetsApi(ctx.config), paths.atlasDb, {
          dryRun,
          forceCheck: input.forceCheck,
          now: ctx.now(),
          lastFingerprint: getState(ctx.opsDb(), fingerprintKey()),
        });
        if (!dryRun && !r.unchanged) {
          setState(ctx.opsDb(), fingerprintKey(), r.fingerprint, ctx.now());
          const alerts = ctx.alerts();
          if (r.notApplied.length) {
            await alerts.raise({
              code: 'sheets-decisions-not-applied',
              level: 'warning',
              message: `${r.notApplied.length} decision(s) in the sheet were not applied; see their sync_note (first: row ${r.notApplied[0]!.row}: ${r.notApplied[0]!.reason})`,
              details: { rows: r.notApplied.slice(0, SAMPLE) },
            });
          } else {
            await alerts.resolve('sheets-decisions-not-applied', 'no unapplied decisions left in the sheet');
          }
        }
        return {
          direction: 'import', dryRun, rowsRead: r.rowsRead, rowsWritten: r.applied.length, requests: r.requests,
          applied: r.applied.length, appliedSample: r.applied.slice(0, SAMPLE), alreadyApplied: r.alreadyApplied,
          notApplied: r.notApplied.length, notAppliedSample: r.notApplied.slice(0, SAMPLE), unchanged: r.unchanged,
          transactionMs: Math.round(r.transactionMs * 100) / 100,
          changes: [
            ...r.applied.slice(0, SAMPLE).map((a) => `row ${a.row}: ${a.id} → ${a.status}`),
            ...r.notApplied.slice(0, SAMPLE).map((n) => `row ${n.row}: ${n.id || '(no id)'} ${n.reason}`),
          ],
        };
      });
    },

    /** Records a run that failed after its retries and, when this makes an outage, starts sheetsOutage (once). */
    async recordSyncFailure(input: { direction: Direction; workflowId: string; startedAt: string; errorType: string; message: string; detectOutage: boolean }): Promise<{ outage?: { workflowId: string; started: boolean; reason: string } }> {
      const db = ctx.opsDb();
      recordRun(db, { direction: input.direction, workflowId: input.workflowId, startedAt: input.startedAt, finishedAt: ctx.now().toISOString(), outcome: 'failed', error: `${input.errorType}: ${input.message}` });
      appendLog(paths.log(input.direction), { event: `${input.direction}-failed`, workflowId: input.workflowId, type: input.errorType, message: input.message });
      if (!input.detectOutage) return {};
      const reason = outageReason(db, ctx.now(), ctx.config.thresholds.syncOffline);
      if (!reason) return {};
      const started = await startOnce<typeof sheetsOutage>(ctx.client, ctx.config, OUTAGE_WORKFLOW, OUTAGE_SINGLETON, { reason, detectedBy: input.workflowId }, `Sheets outage: ${reason}`);
      appendLog(paths.log(input.direction), { event: 'outage-detected', reason, outageWorkflowId: started.workflowId, started: started.started });
      return { outage: { ...started, reason } };
    },

    async sheetsConnectivity(input: { permissions?: boolean }): Promise<ConnectivityReport> {
      return checkConnectivity(ctx.config, { permissions: input.permissions });
    },

    /** Best effort: during an outage the banner usually cannot be written, and that is fine. */
    async sheetsSetBanner(input: { banner: string }): Promise<boolean> {
      try {
        await setBanner(sheetsApi(ctx.config, { timeoutMs: 15_000 }), input.banner);
        return true;
      } catch {
        return false;
      }
    },
  };
}
