// Monitoring workflows: the 15-minute health check, the daily warning digest, the weekly and
// monthly routines, and the access review. Reports run as activities; findings become alerts.
import { ActivityFailure, proxyActivities } from '@temporalio/workflow';
import type { HostActivities } from '../activities';
import type { IncidentHandover } from '../activities/incident';
import type { HealthCheckResult } from '../activities/monitoring';
import type { AlertLevel } from '../src/alerts';
import type { WrittenReport } from '../src/reports/report';
import { DECISION_TIMEOUT, HOME, HOST_QUEUE, inputTable, type InputOf } from './lib/input';
import { runProcedure, startProcedure } from './lib/template';

const DAY = 86_400_000;

export const HEALTH_CHECK_INPUT = inputTable([
  { name: 'deep', type: 'boolean', doc: 'Force (or skip) the deep check (quick_check and business metrics); by default once a day.' },
  HOST_QUEUE,
  HOME,
]);

export type HealthCheckInput = InputOf<typeof HEALTH_CHECK_INPUT>;

export interface HealthCheckOutcome extends HealthCheckResult {
  remediationsStarted: { remediation: string; workflowId?: string; workflowType?: string; started?: boolean; skipped?: string }[];
  /** Critical alerts unresolved for alerts.incidentAfter, handed to the incident (or why they could not be). */
  incident: IncidentHandover & { error?: string };
}

export async function healthCheck(input?: HealthCheckInput): Promise<HealthCheckOutcome> {
  const { p, input: { deep } } = await startProcedure({ name: 'healthCheck', input: HEALTH_CHECK_INPUT }, input);
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
  // Every check looks at the critical alerts of every source (not only its own metrics): one left
  // unresolved for alerts.incidentAfter opens the incident or joins it (docs/procedures.md#incident-response).
  let incident: HealthCheckOutcome['incident'];
  try {
    incident = await p.acts.openIncidentsForAlerts();
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    // The measurements stand; the alerts are handed over by the next check.
    incident = { alerts: [], error: (err.cause ?? err).message };
  }
  const opened = incident.alerts.length ? ` Incident ${incident.workflowId}: ${incident.alerts.map((a) => a.code).join(', ')}.` : '';
  const failed = incident.error ? ` Alerts not handed to an incident: ${incident.error}.` : '';
  const off = incident.off ? ` ${incident.off}.` : '';
  p.finish('completed', `${result.ok ? 'All metrics within their thresholds.' : `Out of bounds: ${result.failing.map((f) => f.metric).join(', ')}.`}${opened}${failed}${off}`);
  return { ...result, remediationsStarted, incident };
}

export const ALERTS_DIGEST_INPUT = inputTable([
  { name: 'level', type: 'enum', values: ['warning', 'info'], default: 'warning', doc: 'Which alerts: the day\'s warnings, or the week\'s info.' },
  HOST_QUEUE,
  HOME,
]);

export type AlertsDigestInput = InputOf<typeof ALERTS_DIGEST_INPUT>;

/** Daily: one message with the day's warnings. */
export async function alertsDigest(input?: AlertsDigestInput) {
  const { p, input: { level } } = await startProcedure({ name: 'alertsDigest', input: ALERTS_DIGEST_INPUT }, input);
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

export const ROUTINE_INPUT = inputTable([
  { name: 'since', type: 'string', doc: 'Period start for the reports: "7d" or "2026-11-01" (each report has its own default).' },
  HOST_QUEUE,
  HOME,
  DECISION_TIMEOUT,
]);

export type RoutineInput = InputOf<typeof ROUTINE_INPUT>;

function runRoutine(name: string, reports: string[], input: RoutineInput | undefined, withInfoDigest: boolean): Promise<RoutineResult> {
  return runProcedure({ name, input: ROUTINE_INPUT }, input, (p, { since }) => {
    // Restore tests and audits read whole databases: longer than the default step timeout.
    const reportActs = proxyActivities<HostActivities>({ taskQueue: p.context.hostQueue, startToCloseTimeout: '1h', retry: { initialInterval: '5s', maximumAttempts: 3 } });
    const result: RoutineResult = { outcome: 'completed', reports: [], skipped: [] };
    const finish = () => p.finish(result.outcome, `${result.reports.length} reports written${result.skipped.length ? `, skipped: ${result.skipped.join(', ')}` : ''}.`);

    /** One report; its findings raise its alert, none resolves it. */
    const runReport = async (report: string) => {
      p.phase(report, `Running the ${report} report.`);
      const r = await p.step(`report ${report}`, () => reportActs.runReport({ name: report, since }), { skippable: true });
      if (r.skipped || !r.value) {
        result.skipped.push(report);
        return;
      }
      result.reports.push(r.value);
      const code = `report:${report}`;
      if (r.value.findings.length) {
        await p.acts.raiseAlert({ code, level: FINDING_LEVEL[report] ?? 'info', message: `${report}: ${r.value.summary}. ${r.value.findings.slice(0, 3).join('; ')} (see ${r.value.files.markdown})` });
      } else {
        await p.acts.resolveAlert({ code, resolution: `${report}: ${r.value.summary}` });
      }
    };

    return {
      result,
      async run() {
        for (const report of reports) await runReport(report);
        if (withInfoDigest) {
          p.phase('info-summary', 'Sending the weekly info summary.');
          // The runbook's weekly info: usage, trends and health summary, beside the week's info alerts.
          const d = await p.acts.sendAlertDigest({ level: 'info', windowMs: 7 * DAY, extra: result.reports.map((r) => `${r.name}: ${r.summary}`) });
          result.digest = { alerts: d.alerts.length, delivered: d.delivered };
        }
        finish();
      },
      async aborted() {
        result.outcome = 'aborted';
        finish();
      },
    };
  });
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
