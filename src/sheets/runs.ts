// The record of sync runs in ops.db (sync_runs, sync_state): writing a run, the health figures
// that `atlas-ops sync health` prints, and the rule that says a Sheets outage has begun.
import type { Db } from '../db/sqlite';
import { OUTAGE_TYPES } from './error-types';

export type Direction = 'export' | 'import';

export interface RunRecord {
  direction: Direction;
  workflowId: string;
  startedAt: string;
  finishedAt: string;
  rowsRead?: number;
  rowsWritten?: number;
  requests?: number;
  outcome: 'ok' | 'skipped' | 'failed';
  error?: string;
}

/** One row per run: a retried activity replaces its own row instead of adding another. */
export function recordRun(db: Db, r: RunRecord): void {
  db.transaction(() => {
    db.prepare('DELETE FROM sync_runs WHERE workflow_id = ? AND direction = ?').run(r.workflowId, r.direction);
    db.prepare(
      'INSERT INTO sync_runs (direction, workflow_id, started_at, finished_at, rows_read, rows_written, api_requests, outcome, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ).run(r.direction, r.workflowId, r.startedAt, r.finishedAt, r.rowsRead ?? 0, r.rowsWritten ?? 0, r.requests ?? 0, r.outcome, r.error ?? null);
  })();
}

export function getState(db: Db, key: string): string | undefined {
  return db.prepare('SELECT value FROM sync_state WHERE key = ?').pluck().get(key) as string | undefined;
}

export function setState(db: Db, key: string, value: string, at: Date): void {
  db.prepare('INSERT INTO sync_state (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at')
    .run(key, value, at.toISOString());
}

export const CONSECUTIVE_FAILURES = 3;

const isOutageError = (error: string | null) => error !== null && OUTAGE_TYPES.some((t) => error.startsWith(`${t}:`));

export interface OfflineState {
  lastOk: string | null;
  /**
   * Start of the current run of auth/connectivity failures since the last success, or null: no such
   * failure, or the latest attempted run was not one (a success, a layout error, a corrupt database:
   * the sheet answered, or the fault is not the network's).
   */
  failingSince: string | null;
}

/** How long the sync has been failing for auth or connectivity reasons (the runbook's "Sync offline"). */
export function syncOffline(db: Db): OfflineState {
  const lastOk = db.prepare("SELECT max(finished_at) FROM sync_runs WHERE outcome = 'ok'").pluck().get() as string | null;
  const runs = db
    .prepare("SELECT started_at AS startedAt, outcome, error FROM sync_runs WHERE outcome IN ('ok','failed') AND started_at > ? ORDER BY started_at, id")
    .all(lastOk ?? '') as { startedAt: string; outcome: string; error: string | null }[];
  // Walked back from the latest run: the current streak of auth/connectivity failures.
  let failingSince: string | null = null;
  for (let i = runs.length - 1; i >= 0 && runs[i]!.outcome === 'failed' && isOutageError(runs[i]!.error); i--) failingSince = runs[i]!.startedAt;
  return { lastOk, failingSince };
}

/**
 * Why an outage has begun, or undefined (docs/procedures.md#sheets-outage): three auth/connectivity
 * failures in a row, or such failures for longer than `offlineAfterMs` (thresholds.syncOffline;
 * the runbook's "Sync offline >1 hour", so exactly the threshold is not yet an outage).
 */
export function outageReason(db: Db, now: Date, offlineAfterMs: number): string | undefined {
  const recent = db
    .prepare("SELECT outcome, error FROM sync_runs WHERE outcome IN ('ok','failed') ORDER BY id DESC LIMIT ?")
    .all(CONSECUTIVE_FAILURES) as { outcome: string; error: string | null }[];
  if (recent.length === CONSECUTIVE_FAILURES && recent.every((r) => r.outcome === 'failed' && isOutageError(r.error))) {
    return `${CONSECUTIVE_FAILURES} consecutive sync failures (last: ${recent[0]!.error})`;
  }
  const { lastOk, failingSince } = syncOffline(db);
  if (!failingSince || now.getTime() - Date.parse(failingSince) <= offlineAfterMs) return undefined;
  return `auth or connectivity failures since ${failingSince}${lastOk ? `, no successful sync since ${lastOk}` : ''} (over ${Math.round(offlineAfterMs / 60_000)} min)`;
}

export interface DirectionHealth {
  direction: Direction;
  runs: number;
  ok: number;
  failed: number;
  skipped: number;
  /** ok / (ok + failed) as a percentage; null when nothing ran. */
  successPercent: number | null;
  lastSuccess?: string;
  /** Milliseconds since the last success. */
  lagMs?: number;
  lastError?: string;
}

export interface SyncHealth {
  windowHours: number;
  directions: DirectionHealth[];
  successPercent: number | null;
  healthy: boolean;
  problems: string[];
}

/** check-sync-health: success rate over the window, last success, lag (a problem beyond `offlineAfterMs`). */
export function syncHealth(db: Db, now: Date, thresholds: { successPercent: number; offlineAfterMs: number }, windowMs = 86_400_000): SyncHealth {
  const thresholdPercent = thresholds.successPercent;
  const since = new Date(now.getTime() - windowMs).toISOString();
  const problems: string[] = [];
  let ok = 0;
  let failed = 0;
  const directions = (['export', 'import'] as const).map((direction): DirectionHealth => {
    const counts = db
      .prepare("SELECT count(*) AS runs, sum(outcome = 'ok') AS ok, sum(outcome = 'failed') AS failed, sum(outcome = 'skipped') AS skipped FROM sync_runs WHERE direction = ? AND started_at >= ?")
      .get(direction, since) as { runs: number; ok: number | null; failed: number | null; skipped: number | null };
    const lastSuccess = db.prepare("SELECT max(finished_at) FROM sync_runs WHERE direction = ? AND outcome = 'ok'").pluck().get(direction) as string | null;
    const lastError = db.prepare("SELECT error FROM sync_runs WHERE direction = ? AND outcome = 'failed' ORDER BY id DESC LIMIT 1").pluck().get(direction) as string | null;
    const h: DirectionHealth = {
      direction,
      runs: counts.runs,
      ok: counts.ok ?? 0,
      failed: counts.failed ?? 0,
      skipped: counts.skipped ?? 0,
      successPercent: (counts.ok ?? 0) + (counts.failed ?? 0) ? (100 * (counts.ok ?? 0)) / ((counts.ok ?? 0) + (counts.failed ?? 0)) : null,
      ...(lastSuccess ? { lastSuccess, lagMs: now.getTime() - Date.parse(lastSuccess) } : {}),
      ...(lastError ? { lastError } : {}),
    };
    ok += h.ok;
    failed += h.failed;
    if (!lastSuccess) problems.push(`${direction}: no successful run recorded`);
    else if (h.lagMs! > thresholds.offlineAfterMs) problems.push(`${direction}: last success ${lastSuccess} (${Math.round(h.lagMs! / 60_000)} min ago)`);
    return h;
  });
  const successPercent = ok + failed ? (100 * ok) / (ok + failed) : null;
  if (successPercent !== null && successPercent < thresholdPercent) problems.push(`success rate ${successPercent.toFixed(1)} % is below ${thresholdPercent} %`);
  return { windowHours: windowMs / 3_600_000, directions, successPercent, healthy: problems.length === 0, problems };
}
