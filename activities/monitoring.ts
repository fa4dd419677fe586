// Monitoring activities: the health check (samples, log, alerts), remediation starts, the alert
// digests, the reports, and the evidence and postmortem files of incident response.
import fs from 'node:fs';
import path from 'node:path';
import type { AlertLevel, DigestResult } from '../src/alerts';
import { boundSymbol, collectHealth, type HealthMetric, type Remediation } from '../src/health/collect';
import { MODE } from '../src/file-modes';
import { appendLog } from '../src/log';
import { reportName, runReport as buildReport } from '../src/reports';
import { parseSince } from '../src/reports/report';
import { startOnce, type StartedOnce } from '../src/temporal/start';
import { INCIDENT_STAGES, type AdvanceInput } from '../src/workflow-safe/incident-stages';
import type { ActivityContext } from './deps';
import { failure } from '../src/workflow-safe/failures';
import { plainFileNamePart } from '../src/workflow-safe/file-names';

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

    /** Investigate: the tails of the job logs and the recent alerts, copied into reports/incident-<id>/. */
    async gatherIncidentEvidence(input: { workflowId: string; sinceIso: string }): Promise<{ dir: string; files: string[]; alerts: number }> {
      const dir = path.join(paths.reportsDir, `incident-${plainFileNamePart(input.workflowId)}`);
      fs.mkdirSync(dir, { recursive: true, mode: MODE.dir });
      const files: string[] = [];
      if (fs.existsSync(paths.logsDir)) {
        for (const name of fs.readdirSync(paths.logsDir).filter((n) => n.endsWith('.log')).sort()) {
          const lines = fs.readFileSync(path.join(paths.logsDir, name), 'utf8').split('\n').filter(Boolean).slice(-500);
          const out = path.join(dir, name);
          fs.writeFileSync(out, lines.join('\n') + (lines.length ? '\n' : ''), { mode: MODE.file });
          files.push(out);
        }
      }
      const since = new Date(Date.parse(input.sinceIso) - 86_400_000).toISOString();
      const alerts = ctx.opsDb().prepare('SELECT * FROM alerts WHERE last_seen_at >= ? OR resolved_at IS NULL ORDER BY raised_at').all(since);
      const alertsFile = path.join(dir, 'alerts.json');
      fs.writeFileSync(alertsFile, `${JSON.stringify(alerts, null, 2)}\n`, { mode: MODE.file });
      files.push(alertsFile);
      return { dir, files, alerts: alerts.length };
    },

    /** Learn: a postmortem skeleton whose timeline is read from the workflow's own history. */
    async writePostmortem(input: { workflowId: string; title: string }): Promise<{ file: string; timeline: TimelineEntry[] }> {
      const timeline = await historyTimeline(ctx, input.workflowId);
      const file = path.join(paths.reportsDir, `postmortem-${plainFileNamePart(input.workflowId)}.md`);
      fs.mkdirSync(paths.reportsDir, { recursive: true });
      const md = [
        `# Postmortem: ${input.title}`,
        '',
        `Incident workflow \`${input.workflowId}\`, written ${ctx.now().toISOString()}.`,
        '',
        '## Timeline (from the workflow history)',
        '',
        ...timeline.map((e) => `- ${e.at} — **${e.stage}**${e.by ? ` (${e.by})` : ''}${e.note ? `: ${e.note}` : ''}`),
        '',
        '## Impact',
        '',
        '_Who and what was affected, for how long._',
        '',
        '## Root cause',
        '',
        '_What failed and why._',
        '',
        '## What went well / what did not',
        '',
        '## Actions',
        '',
        '- [ ] _Runbook or procedure updates_',
        '- [ ] _Monitoring or alert changes_',
        '',
      ].join('\n');
      fs.writeFileSync(file, md, { mode: MODE.file });
      return { file, timeline };
    },
  };
}

export interface TimelineEntry {
  at: string;
  stage: string;
  by?: string;
  note?: string;
}

/** The start and every accepted `advance` signal of an incident, in history order, with their notes. */
async function historyTimeline(ctx: ActivityContext, workflowId: string): Promise<TimelineEntry[]> {
  const { defaultPayloadConverter } = await import('@temporalio/common');
  const history = await ctx.client.workflow.getHandle(workflowId).fetchHistory();
  const out: TimelineEntry[] = [];
  const toIso = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
    new Date(Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6)).toISOString();
  for (const e of history.events ?? []) {
    if (e.workflowExecutionStartedEventAttributes) {
      const arg = e.workflowExecutionStartedEventAttributes.input?.payloads?.[0];
      const input = arg ? (defaultPayloadConverter.fromPayload(arg) as { summary?: string; by?: string; note?: string } | null) : null;
      out.push({ at: toIso(e.eventTime), stage: 'detect', by: input?.by, note: input?.summary ?? input?.note });
    }
    const sig = e.workflowExecutionSignaledEventAttributes;
    if (sig?.signalName === 'advance' && out.length < INCIDENT_STAGES.length) {
      const arg = sig.input?.payloads?.[0];
      const body = arg ? (defaultPayloadConverter.fromPayload(arg) as AdvanceInput | null) : null;
      const next = INCIDENT_STAGES[out.length]!;
      // The workflow ignores an advance that names another stage; so does the timeline.
      if (body?.stage && body.stage !== next) continue;
      out.push({ at: toIso(e.eventTime), stage: next, by: body?.by, note: body?.note });
    }
  }
  return out;
}
