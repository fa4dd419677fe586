// Which alerts open an incident or join the open one (docs/procedures.md#incident-response):
// critical, unresolved, first raised at least `alerts.incidentAfter` ago, not an incident's own
// alert, and not handed to an incident before. The hand-over is recorded in ops.db, so an alert that
// stays open opens one incident, not one per health check.
import type { AlertRow } from '../alerts';
import type { Db } from '../db/sqlite';
import { INCIDENT_OWN_ALERT_PREFIX, incidentAlert, type IncidentAlert } from '../workflow-safe/incident-stages';

/** At most this many alerts are handed over per check; the rest wait for the next one. */
export const HANDOVER_MAX = 20;

export function alertsDueForIncident(ops: Db, now: Date, incidentAfterMs: number): IncidentAlert[] {
  const raisedBefore = new Date(now.getTime() - incidentAfterMs).toISOString();
  const rows = ops
    .prepare(
      `SELECT a.* FROM alerts a LEFT JOIN incident_alerts i ON i.alert_id = a.id
       WHERE a.level = 'critical' AND a.resolved_at IS NULL AND a.raised_at <= ? AND i.alert_id IS NULL
         AND substr(a.code, 1, ?) != ?
       ORDER BY a.raised_at, a.id LIMIT ?`,
    )
    .all(raisedBefore, INCIDENT_OWN_ALERT_PREFIX.length, INCIDENT_OWN_ALERT_PREFIX, HANDOVER_MAX) as AlertRow[];
  return rows.map((r) => incidentAlert({ id: r.id, code: r.code, level: r.level, message: r.message, raisedAt: r.raised_at })!);
}

/** Records that `alertId` was signalled to the incident `workflowId` (a repeat keeps the first record). */
export function recordHandover(ops: Db, alertId: number, workflowId: string, runId: string | undefined, at: Date): void {
  ops.prepare('INSERT OR IGNORE INTO incident_alerts (alert_id, workflow_id, run_id, at) VALUES (?, ?, ?, ?)').run(alertId, workflowId, runId ?? null, at.toISOString());
}
