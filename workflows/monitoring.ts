// Monitoring workflows: the 15-minute health check, the daily warning digest, the weekly and
// monthly routines, and the access review. Reports run as activities; findings become alerts.
import { proxyActivities } from '@temporalio/workflow';
import type { HostActivities } from '../activities';
import type { HealthCheckResult } from '../activities/monitoring';
import type { AlertLevel } from '../src/alerts';
import type { WrittenReport } from '../src/reports/report';
import { inputObject, invalid, optionalBoolean, optionalDuration, optionalString, rejectUnknown } from './lib/input';
import { AbortRequested, Procedure } from './lib/procedure';

const DAY = 86_400_000;

export interface HealthCheckInput {
  /** Force (or skip) the deep check (quick_check and business metrics); by default once a day. */
  deep?: boolean;
  hostQueue?: string;
}

export interface HealthCheckOutcome extends HealthCheckResult {
  remediationsStarted: { remediation: string; workflowId?: string; workflowType?: string; started?: boolean; skipped?: string }[];
}

export async function healthCheck(rawInput?: HealthCheckInput): Promise<HealthCheckOutcome> {
  const input = inputObject(rawInput, 'healthCheck');
  rejectUnknown(input, ['deep', 'hostQueue']);
  const deep = optionalBoolean(input, 'deep');
  const p = await Procedure.start('healthCheck', { hostQueue: optionalString(input, 'hostQueue') });
  p.phase('measure', 'Measuring system, application and business metrics.');
  // No operator decision on failure here: the next check is 15 minutes away, and a stuck run would skip it.
  const result = await p.acts.runHealthCheck({ deep });
  const remediationsStarted: HealthCheckOutcome['remediationsStarted'] = [];
  if (result.remediations.length) {
    p.phase('remediate', `Starting ${result.remediations.join(', ')}.`);
    for (const remediation of result.remediations) {
      const failing = result.failing.map((f) => f.metric).join(', ');
      remediationsStarted.push({ remediation, ...(await p.acts.startRemediation({ remediation, reason: `critical: ${failing}` })) });
    }
  }
  p.finish('completed', result.ok ? 'All metrics within their thresholds.' : `Out of bounds: ${result.failing.map((f) => f.metric).join(', ')}.`);
  return { ...result, remediationsStarted };
}

/** Daily: one message with the day's warnings. */
export async function alertsDigest(rawInput?: { level?: 'warning' | 'info'; hostQueue?: string }) {
  const input = inputObject(rawInput, 'alertsDigest');
  rejectUnknown(input, ['level', 'hostQueue']);
  const level = optionalString(input, 'level') ?? 'warning';
  if (level !== 'warning' && level !== 'info') throw invalid('level', `"${level}" is not warning or info`);
  const p = await Procedure.start('alertsDigest', { hostQueue: optionalString(input, 'hostQueue') });
  p.phase('digest', `Sending the ${level} digest.`);
  const digest = await p.acts.sendAlertDigest({ level, windowMs: level === 'info' ? 7 * DAY : DAY });
  p.finish('completed', `${digest.alerts.length} ${level} alerts, delivered: ${digest.delivered}.`);
  return digest;
}

/** Findings of these reports are alerts of this level; a report without findings resolves its alert. */
const FINDING_LEVEL: Record<string, AlertLevel> = {
  security: 'critical',
  'backup-restore-test': 'warning',
  'dr-test': 'warning',
  capacity: 'warning',
  'error-trends': 'warning',
  'stale-approvals': 'warning',
};

export interface RoutineResult {
  outcome: 'completed' | 'aborted';
  reports: WrittenReport[];
  skipped: string[];
  digest?: { alerts: number; delivered: boolean };
}

const ROUTINE_FIELDS = ['since', 'hostQueue', 'decisionTimeout'] as const;

async function runRoutine(name: string, reports: string[], rawInput: unknown, withInfoDigest: boolean): Promise<RoutineResult> {
  const input = inputObject(rawInput, name);
  rejectUnknown(input, ROUTINE_FIELDS);
  const since = optionalString(input, 'since');
  const p = await Procedure.start(name, { hostQueue: optionalString(input, 'hostQueue'), decisionTimeout: optionalDuration(input, 'decisionTimeout') });
  // Restore tests and audits read whole databases: longer than the default step timeout.
  const reportActs = proxyActivities<HostActivities>({ taskQueue: p.context.hostQueue, startToCloseTimeout: '1h', retry: { initialInterval: '5s', maximumAttempts: 3 } });
  const result: RoutineResult = { outcome: 'completed', reports: [], skipped: [] };
  p.status.facts = result as unknown as Record<string, unknown>;
  try {
    for (const report of reports) {
      p.phase(report, `Running the ${report} report.`);
      const r = await p.step(`report ${report}`, () => reportActs.runReport({ name: report, since }), { skippable: true });
      if (r.skipped || !r.value) {
        result.skipped.push(report);
        continue;
      }
      result.reports.push(r.value);
      const code = `report:${report}`;
      if (r.value.findings.length) {
        await p.acts.raiseAlert({ code, level: FINDING_LEVEL[report] ?? 'info', message: `${report}: ${r.value.summary}. ${r.value.findings.slice(0, 3).join('; ')} (see ${r.value.files.markdown})` });
      } else {
        await p.acts.resolveAlert({ code, resolution: `${report}: ${r.value.summary}` });
      }
    }
    if (withInfoDigest) {
      p.phase('info-summary', 'Sending the weekly info summary.');
      // The runbook's weekly info: usage, trends and health summary, beside the week's info alerts.
      const d = await p.acts.sendAlertDigest({ level: 'info', windowMs: 7 * DAY, extra: result.reports.map((r) => `${r.name}: ${r.summary}`) });
      result.digest = { alerts: d.alerts.length, delivered: d.delivered };
    }
  } catch (err) {
    if (!(err instanceof AbortRequested)) throw err;
    result.outcome = 'aborted';
  }
  p.finish(result.outcome, `${result.reports.length} reports written${result.skipped.length ? `, skipped: ${result.skipped.join(', ')}` : ''}.`);
  return result;
}

export interface RoutineInput {
  /** Period start for the reports: "7d" or "2026-11-01" (each report has its own default). */
  since?: string;
  hostQueue?: string;
  decisionTimeout?: string | number;
}

/** Monday: stale approvals, error trends, a backup restore test, the health summary, the info digest. */
export function weeklyRoutine(input?: RoutineInput): Promise<RoutineResult> {
  return runRoutine('weeklyRoutine', ['stale-approvals', 'error-trends', 'backup-restore-test', 'health-summary'], input, true);
}

/** First Friday: disaster recovery test, performance, security audit, capacity forecast, access review. */
export function monthlyRoutine(input?: RoutineInput): Promise<RoutineResult> {
  return runRoutine('monthlyRoutine', ['dr-test', 'performance', 'security', 'capacity', 'access'], input, false);
}

/** Who can reach what (`atlas-ops report access`). */
export function accessReview(input?: RoutineInput): Promise<RoutineResult> {
  return runRoutine('accessReview', ['access'], input, false);
}
