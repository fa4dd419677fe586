// Monitoring activities: the health check (samples, log, alerts), remediation starts, the alert
// digests and the reports. Incident response's own are in ./incident.ts.
import type { AlertLevel, DigestResult } from '../src/alerts';
import { boundSymbol, collectHealth, type HealthMetric, type Remediation } from '../src/health/collect';
import { appendLog } from '../src/log';
import { reportName, runReport as buildReport } from '../src/reports';
import { parseSince } from '../src/reports/report';
import { startOnce, type StartedOnce } from '../src/temporal/start';
import type { ActivityContext } from './deps';
import { failure } from '../src/workflow-safe/failures';

export interface HealthCheckResult {
  at: string;
  ok: boolean;
  failing: { metric: string; level: AlertLevel; value: number | null; threshold?: number }[];
  raised: string[];
  resolved: string[];
  /** Remediations the workflow should start (new critical conditions). */
  remediations: Remediation[];
  /** Whether this was the daily deep check (quick_check and business metrics). */
  deep: boolean;
  metrics: HealthMetric[];
  ms: number;
}

export const healthAlertCode = (metric: string) => `health:${metric}`;

/** The singleton name and configured workflow type of each remediation. */
export const REMEDIATIONS: Record<Remediation, { singleton: string; setting: 'diskEmergency' | 'corruption' | 'syncOffline' }> = {
  diskEmergency: { singleton: 'disk-emergency', setting: 'diskEmergency' },
  corruption: { singleton: 'corruption-recovery', setting: 'corruption' },
  syncOffline: { singleton: 'sheets-outage', setting: 'syncOffline' },
};

function alertMessage(m: HealthMetric): string {
  const v = m.value === null ? 'no data' : `${m.value}${m.unit ? ` ${m.unit}` : ''}`;
  const bound = m.threshold === undefined ? '' : ` (threshold ${boundSymbol(m)} ${m.threshold}${m.unit ? ` ${m.unit}` : ''})`;
  return `${m.label}: ${v}${bound}${m.details ? ` — ${m.details}` : ''}`;
}

export function createMonitoringActivities(ctx: ActivityContext) {
  const { paths } = ctx;
  return {
    /** One health check: measure, record the samples, raise and resolve alerts. */
    async runHealthCheck(input: { deep?: boolean } = {}): Promise<HealthCheckResult> {
      const t0 = performance.now();
      const ops = ctx.opsDb();
      const now = ctx.now();
      const lastQuick = ops.prepare("SELECT max(at) FROM health_samples WHERE metric = 'db_quick_check'").pluck().get() as string | null;
      // The deep check (quick_check, business metrics) runs once a day, with the first check after it is due.
      const deep = input.deep ?? (!lastQuick || now.getTime() - Date.parse(lastQuick) >= 86_400_000 - 60_000);
      const metrics = await collectHealth({ config: ctx.config, paths, ops, now, deep });
      const at = now.toISOString();
      const insert = ops.prepare('INSERT INTO health_samples (at, metric, value, threshold, ok, details) VALUES (?, ?, ?, ?, ?, ?)');
      ops.transaction(() => {
        for (const m of metrics) insert.run(at, m.metric, m.value, m.threshold ?? null, m.ok === null ? null : m.ok ? 1 : 0, m.details ?? null);
      })();
      const alerts = ctx.alerts();
      const raised: string[] = [];
      const resolved: string[] = [];
      const remediations: Remediation[] = [];
      for (const m of metrics) {
        const code = healthAlertCode(m.metric);
        if (m.ok === false) {
          const before = alerts.byCode(code);
          const wasCritical = before !== undefined && before.resolved_at === null && before.level === 'critical';
          const outcome = await alerts.raise({ code, level: m.level ?? 'warning', message: alertMessage(m), details: { metric: m.metric, value: m.value, threshold: m.threshold } });
          if (outcome.isNew) raised.push(code);
          // A remediation starts when the condition becomes critical, not at every check while it lasts.
          if (m.remediation && m.level === 'critical' && !wasCritical) remediations.push(m.remediation);
        } else if (m.ok === true && (await alerts.resolve(code, `back within bounds: ${alertMessage(m)}`))) {
          resolved.push(code);
        }
      }
      const failing = metrics.filter((m) => m.ok === false).map((m) => ({ metric: m.metric, level: m.level ?? 'warning', value: m.value, threshold: m.threshold }));
      const ms = Math.round(performance.now() - t0);
      appendLog(paths.log('health'), {
        event: 'health-check', ok: failing.length === 0, ms, deep,
        metrics: Object.fromEntries(metrics.map((m) => [m.metric, m.value])),
        failing: failing.map((f) => f.metric), raised, resolved,
      });
      return { at, ok: failing.length === 0, failing, raised, resolved, remediations, deep, metrics, ms };
    },

    /** Starts the configured remediation procedure once (joins it when already running). */
    async startRemediation(input: { remediation: Remediation; reason: string }): Promise<StartedOnce & { workflowType: string } | { skipped: string }> {
      const r = REMEDIATIONS[input.remediation];
      if (!r) throw failure.InvalidInput(`remediation: "${input.remediation}" is not one of ${Object.keys(REMEDIATIONS).join(', ')}`);
      const workflowType = ctx.config.remediation[r.setting];
      if (!workflowType) return { skipped: `remediation.${r.setting} is empty` };
      const started = await startOnce(ctx.client, ctx.config, workflowType, r.singleton, {}, `Started by the health check: ${input.reason}`);
      appendLog(paths.log('health'), { event: 'remediation', remediation: input.remediation, workflowType, ...started });
      return { ...started, workflowType };
    },

    /** The daily digest of warnings, or the weekly info summary. */
    async sendAlertDigest(input: { level: 'warning' | 'info'; windowMs: number; extra?: string[] }): Promise<Omit<DigestResult, 'text'>> {
      const { text: _text, ...result } = await ctx.alerts().digest(input.level, input.windowMs, input.extra);
      return result;
    },

    /** Builds one report into reports/; returns its summary and files (the data stays in the JSON file). */
    async runReport(input: { name: string; since?: string }) {
      let name;
      let since: Date | undefined;
      try {
        name = reportName(input.name, 'name');
        if (input.since) since = parseSince(input.since, ctx.now(), 'since');
      } catch (err) {
        throw failure.InvalidInput((err as Error).message);
      }
      const { data: _data, ...written } = await buildReport(name, { config: ctx.config, paths, ops: ctx.opsDb(), now: ctx.now(), since, client: ctx.client });
      return written;
    },
  };
}
