// Incident response's activities (docs/procedures.md#incident-response): critical alerts handed to
// the incident (opened or joined through signalWithStart on its singleton id), investigate's evidence
// (log tails, alerts, journald excerpts of the atlas units, summaries of the procedures involved) and
// learn's postmortem skeleton.
import fs from 'node:fs';
import path from 'node:path';
import { hostTaskQueue } from '../src/config';
import { MODE } from '../src/file-modes';
import { alertsDueForIncident, recordHandover } from '../src/incident/due-alerts';
import { atlasUnits, journalExcerpts, type JournalExcerpt } from '../src/incident/journal';
import { eventTimeIso, involvedWorkflows, procedureHistory, type ProcedureHistory } from '../src/incident/procedure-history';
import { appendLog } from '../src/log';
import { singletonId } from '../src/temporal/start';
import { formatDuration } from '../src/workflow-safe/duration';
import { plainFileNamePart } from '../src/workflow-safe/file-names';
import { INCIDENT_STAGES, type AdvanceInput, type IncidentAlert } from '../src/workflow-safe/incident-stages';
import { TEXT_MAX, cutText } from '../src/workflow-safe/limits';
import { INCIDENT } from '../src/workflow-safe/singletons';
import { alertSignal, type incidentResponse } from '../workflows/incident';
import type { ActivityContext } from './deps';

/** How far before the first detection (or the incident's start) investigate looks in the journal and the procedure log. */
const LOOK_BACK_MS = 3_600_000;

export interface IncidentHandover {
  /** The incident the alerts were signalled to (absent when none was due). */
  workflowId?: string;
  alerts: { id: number; code: string; runId: string }[];
  /** Set when alerts open no incident (`alerts.incidentAfter` is off): why none was handed over. */
  off?: string;
}

export interface IncidentEvidence {
  dir: string;
  files: string[];
  alerts: number;
  /** The evidence file (mode 0640): detection, journal excerpts, procedure summaries. */
  evidenceFile: string;
  units: number;
  procedures: string[];
}

export interface TimelineEntry {
  at: string;
  stage: string;
  by?: string;
  note?: string;
}

export function createIncidentActivities(ctx: ActivityContext) {
  const { paths } = ctx;
  const incidentDir = (workflowId: string) => path.join(paths.reportsDir, `incident-${plainFileNamePart(workflowId)}`);

  return {
    /**
     * The health check's hand-over: each critical alert unresolved for `alerts.incidentAfter` is
     * signalled to the incident singleton with signalWithStart (opening it, or joining the open
     * one: Temporal keeps one run per id, so two checks never open two), then recorded. A retry after
     * a signal but before its record signals again; the incident ignores an alert it already has.
     * Switched off, nothing is handed over nor recorded: switched on again, the alerts still due go.
     */
    async openIncidentsForAlerts(): Promise<IncidentHandover> {
      const { incidentAfter } = ctx.config.alerts;
      if (incidentAfter === 'off') return { alerts: [], off: 'alerts.incidentAfter is off: alerts open no incident' };
      const now = ctx.now();
      const ops = ctx.opsDb();
      const due = alertsDueForIncident(ops, now, incidentAfter);
      if (!due.length) return { alerts: [] };
      const workflowId = singletonId(ctx.config, INCIDENT);
      const alerts: IncidentHandover['alerts'] = [];
      for (const alert of due) {
        const age = formatDuration(now.getTime() - Date.parse(alert.raisedAt));
        const summary = cutText(`critical alert ${alert.code} unresolved for ${age}: ${alert.message}`, TEXT_MAX);
        const handle = await ctx.client.workflow.signalWithStart<typeof incidentResponse, [IncidentAlert]>('incidentResponse', {
          taskQueue: ctx.config.taskQueue,
          workflowId,
          args: [{ summary, by: 'healthCheck', home: ctx.config.home, hostQueue: hostTaskQueue(ctx.config) }],
          signal: alertSignal,
          signalArgs: [alert],
          staticSummary: cutText(`Incident: ${summary}`, 400),
          workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        });
        recordHandover(ops, alert.id, workflowId, handle.signaledRunId, now);
        appendLog(paths.log('health'), { event: 'incident-alert', workflowId, runId: handle.signaledRunId, alert: alert.code, raisedAt: alert.raisedAt });
        alerts.push({ id: alert.id, code: alert.code, runId: handle.signaledRunId });
      }
      return { workflowId, alerts };
    },

    /**
     * Investigate: the tails of the job logs and the recent alerts copied into reports/incident-<id>/,
     * and the evidence file there: the detection alerts, journald excerpts of the atlas units and the
     * summaries of the procedures involved, each bounded.
     */
    async gatherIncidentEvidence(input: { workflowId: string; sinceIso: string; detection?: IncidentAlert[] }): Promise<IncidentEvidence> {
      const dir = incidentDir(input.workflowId);
      fs.mkdirSync(dir, { recursive: true, mode: MODE.dir });
      const files: string[] = [];
      const write = (name: string, text: string) => {
        const file = path.join(dir, name);
        fs.writeFileSync(file, text, { mode: MODE.file });
        fs.chmodSync(file, MODE.file);
        files.push(file);
        return file;
      };
      if (fs.existsSync(paths.logsDir)) {
        for (const name of fs.readdirSync(paths.logsDir).filter((n) => n.endsWith('.log')).sort()) {
          const lines = fs.readFileSync(path.join(paths.logsDir, name), 'utf8').split('\n').filter(Boolean).slice(-500);
          write(name, lines.join('\n') + (lines.length ? '\n' : ''));
        }
      }
      const detection = input.detection ?? [];
      const since = new Date(Math.min(Date.parse(input.sinceIso), ...detection.map((a) => Date.parse(a.raisedAt))) - LOOK_BACK_MS);
      const ops = ctx.opsDb();
      const alerts = ops.prepare('SELECT * FROM alerts WHERE last_seen_at >= ? OR resolved_at IS NULL ORDER BY raised_at').all(new Date(Date.parse(input.sinceIso) - 86_400_000).toISOString());
      write('alerts.json', `${JSON.stringify(alerts, null, 2)}\n`);
      const journal: JournalExcerpt[] = await journalExcerpts(atlasUnits(ctx.config), since);
      const procedures: ProcedureHistory[] = [];
      for (const id of involvedWorkflows(ops, detection, since.toISOString(), input.workflowId)) procedures.push(await procedureHistory(ctx.client, id));
      const evidence = { incident: input.workflowId, writtenAt: ctx.now().toISOString(), since: since.toISOString(), detection, journal, procedures };
      const evidenceFile = write('evidence.json', `${JSON.stringify(evidence, null, 2)}\n`);
      return { dir, files, alerts: alerts.length, evidenceFile, units: journal.length, procedures: procedures.map((p) => p.workflowId) };
    },

    /**
     * Learn (or a timeout): a postmortem skeleton whose timeline is read from the workflow's own history.
     * Every detection alert is listed; one that joined after investigate says it is not in evidence.json.
     */
    async writePostmortem(input: { workflowId: string; title: string; detection?: IncidentAlert[]; outcome?: string }): Promise<{ file: string; timeline: TimelineEntry[] }> {
      const timeline = await historyTimeline(ctx, input.workflowId);
      const gathered = evidenceAlertIds(path.join(incidentDir(input.workflowId), 'evidence.json'));
      const late = (a: IncidentAlert) => (gathered && !gathered.has(a.id) ? ' _(joined after investigate: not in evidence.json)_' : '');
      const file = path.join(paths.reportsDir, `postmortem-${plainFileNamePart(input.workflowId)}.md`);
      fs.mkdirSync(paths.reportsDir, { recursive: true });
      const md = [
        `# Postmortem: ${input.title}`,
        '',
        `Incident workflow \`${input.workflowId}\`, written ${ctx.now().toISOString()}.`,
        ...(input.outcome ? ['', `**Outcome:** ${input.outcome}`] : []),
        '',
        '## Detection',
        '',
        ...(input.detection?.length ? input.detection.map((a) => `- ${a.raisedAt} — \`${a.code}\` (${a.level}): ${a.message}${late(a)}`) : ['_Declared by hand._']),
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

/** The ids of the detection alerts investigate wrote into the evidence file; undefined when there is none (not investigated) or it cannot be read: then nothing is marked. */
function evidenceAlertIds(file: string): Set<number> | undefined {
  try {
    const { detection } = JSON.parse(fs.readFileSync(file, 'utf8')) as { detection?: { id?: unknown }[] };
    return new Set((detection ?? []).map((a) => Number(a.id)));
  } catch {
    return undefined;
  }
}

/** The start and every accepted `advance` signal of an incident, in history order, with their notes. */
async function historyTimeline(ctx: ActivityContext, workflowId: string): Promise<TimelineEntry[]> {
  const { defaultPayloadConverter } = await import('@temporalio/common');
  const history = await ctx.client.workflow.getHandle(workflowId).fetchHistory();
  const out: TimelineEntry[] = [];
  for (const e of history.events ?? []) {
    if (e.workflowExecutionStartedEventAttributes) {
      const arg = e.workflowExecutionStartedEventAttributes.input?.payloads?.[0];
      const input = arg ? (defaultPayloadConverter.fromPayload(arg) as { summary?: string; by?: string; note?: string } | null) : null;
      out.push({ at: eventTimeIso(e.eventTime), stage: 'detect', by: input?.by, note: input?.summary ?? input?.note });
    }
    const sig = e.workflowExecutionSignaledEventAttributes;
    if (sig?.signalName === 'advance' && out.length < INCIDENT_STAGES.length) {
      const arg = sig.input?.payloads?.[0];
      const body = arg ? (defaultPayloadConverter.fromPayload(arg) as AdvanceInput | null) : null;
      const next = INCIDENT_STAGES[out.length]!;
      // The workflow ignores an advance that names another stage; so does the timeline.
      if (body?.stage && body.stage !== next) continue;
      out.push({ at: eventTimeIso(e.eventTime), stage: next, by: body?.by, note: body?.note });
    }
  }
  return out;
}
