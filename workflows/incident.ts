// The runbook's incident response: detect → assess → contain → investigate → remediate → recover
// → learn. Each stage is entered on the operator's `advance` signal, whose note goes on the record.
// Contain pauses the automated jobs; recover (or an abort) unpauses exactly those. Critical alerts
// open it or join it through the `alert` signal (activities/incident.ts) as its detection evidence.
// Each stage waits for its advance with reminders, a page, and a timeout whose outcome is `timed-out`
// in the stage's safe state (docs/procedures.md#incident-response).
import { defineSignal, patched, proxyActivities, setHandler } from '@temporalio/workflow';
import type { HostActivities } from '../activities';
import { formatDuration } from '../src/workflow-safe/duration';
import { INCIDENT_STAGES, incidentAlert, type AdvanceInput, type IncidentAlert, type IncidentStage } from '../src/workflow-safe/incident-stages';
import { DURATION_MIN, LIST_MAX } from '../src/workflow-safe/limits';
import { CONTAINED_BY_INCIDENT } from '../src/workflow-safe/schedule-names';
import { HOME, HOST_QUEUE, REMINDER_INTERVAL, inputTable, type InputOf } from './lib/input';
import { boundedText, type Procedure } from './lib/procedure';
import { runProcedure } from './lib/template';
import { shellQuote } from '../src/workflow-safe/shell-quote';

export const advanceSignal = defineSignal<[AdvanceInput]>('advance');
/** Incidents that wrote their postmortem before an alert joining meanwhile had it written again replay without it. */
const LATE_ALERTS_PATCH = 'postmortem-rewritten-for-late-alerts';
/** A critical alert that opens the incident or joins it: its detection evidence. */
export const alertSignal = defineSignal<[IncidentAlert]>('alert');

export const INCIDENT_INPUT = inputTable([
  { name: 'summary', type: 'text', default: 'incident', notBlank: true, doc: 'What happened, in a line: the postmortem title (not blank).' },
  { name: 'by', type: 'string', doc: 'Who declared it.' },
  { name: 'pause', type: 'scheduleNames', default: [...CONTAINED_BY_INCIDENT], doc: 'Schedules contain pauses (names such as "export", checked at start); default: all but monitoring.' },
  { name: 'pageAfter', type: 'duration', min: DURATION_MIN.pageAfter, doc: 'How long a stage waits for advance before a page (critical alert); default incident.pageAfter.' },
  { name: 'stageTimeout', type: 'duration', min: DURATION_MIN.stageTimeout, doc: 'How long a stage waits for advance at most: then the incident ends timed-out in its safe state; default incident.stageTimeout.' },
  REMINDER_INTERVAL,
  HOST_QUEUE,
  HOME,
]);

export type IncidentInput = InputOf<typeof INCIDENT_INPUT>;

export interface IncidentResult {
  outcome: 'completed' | 'aborted' | 'timed-out';
  workflowId: string;
  summary: string;
  /** The critical alerts that opened the incident or joined it, in the order they came. */
  detection: IncidentAlert[];
  /** Each stage's wait for advance: the page, then the timeout (ms). */
  waits: { pageAfter: number; stageTimeout: number };
  stages: { stage: IncidentStage; at: string; by?: string; note?: string }[];
  pausedSchedules: string[];
  unpausedSchedules: string[];
  evidence?: { dir: string; files: number; alerts: number; evidenceFile: string; units: number; procedures: string[] };
  postmortem?: string;
  /** The timeout outcome: the stage nobody advanced, the state it left, what the operator does next. */
  timedOut?: { stage: IncidentStage; after: string; state: string; next: string };
}

/** Thrown by a stage's wait when its timeout runs out: the incident ends in that stage's safe state. */
class StageTimedOut extends Error {
  constructor(readonly stage: IncidentStage) {
    super(`stage ${stage} timed out`);
  }
}

const WHAT_NEXT: Record<IncidentStage, string> = {
  detect: 'Incident declared.',
  assess: 'Determine scope and impact; advance to contain with what you found.',
  contain: 'Automated jobs paused. Advance to investigate when the situation is stable.',
  investigate: 'Logs, recent alerts, journal excerpts of the atlas units and the histories of the procedures involved collected under reports/. Advance to remediate with the findings.',
  remediate: 'Fix the root cause; advance to recover when fixed.',
  recover: 'Schedules unpaused. Watch the next runs; advance to learn when normal.',
  learn: 'Postmortem skeleton written under reports/.',
};

/** What the operator does after a timeout in each stage (the schedules still paused are added to it). */
const NEXT_AFTER_TIMEOUT: Record<IncidentStage, string> = {
  detect: 'Nobody took the incident on. Read the detection alerts (ops.db `alerts`, logs/alerts.log) and this procedure\'s status; if it still needs handling, declare it again: atlas-ops incident start --summary "…".',
  assess: 'The assessment was not finished. Finish it from the detection alerts; if the incident still needs handling, declare it again: atlas-ops incident start --summary "…".',
  contain: 'Nobody investigated. Read the logs (logs/, journalctl -u <unit>) and the detection alerts, and fix the cause.',
  investigate: 'The evidence is under reports/incident-<id>/: fix the root cause from it.',
  remediate: 'Check whether the fix worked (atlas-ops health).',
  recover: 'The schedules run again: watch their next runs (atlas-ops schedules list).',
  learn: 'Fill in the postmortem.',
};

export function incidentResponse(input?: IncidentInput): Promise<IncidentResult> {
  return runProcedure({ name: 'incidentResponse', input: INCIDENT_INPUT }, input, (p, { summary, by, pause, pageAfter, stageTimeout }) => {
    const undo = proxyActivities<HostActivities>({ taskQueue: p.context.hostQueue, startToCloseTimeout: '2m', retry: { initialInterval: '1s', maximumInterval: '1m' } });
    const wf = p.workflowId;
    const startedAt = p.status.startedAt;
    const waits = { pageAfter: pageAfter ?? p.context.incident.pageAfter, stageTimeout: stageTimeout ?? p.context.incident.stageTimeout };
    const result: IncidentResult = { outcome: 'completed', workflowId: wf, summary, detection: [], waits, stages: [], pausedSchedules: [], unpausedSchedules: [] };
    /**
     * The postmortem with every detection alert: one that joins while it is being written (its
     * hand-over is recorded, so it opens no other incident) has it written again, with it.
     */
    const writePostmortem = async (acts: Pick<HostActivities, 'writePostmortem'>, outcome?: string): Promise<string> => {
      for (;;) {
        const written = result.detection.length;
        const { file } = await acts.writePostmortem({ workflowId: wf, title: summary, detection: [...result.detection], outcome });
        if (result.detection.length === written || !patched(LATE_ALERTS_PATCH)) return file;
      }
    };
    const finish = () => p.finish(result.outcome, result.outcome === 'completed' ? `Closed. Postmortem: ${result.postmortem}` : 'Aborted; paused schedules were unpaused.');

    const queued: AdvanceInput[] = [];
    setHandler(advanceSignal, (a) => {
      queued.push(boundedText(a));
    });
    setHandler(alertSignal, (sent) => joinAlert(p, result.detection, sent));

    const enter = async (stage: IncidentStage, a: AdvanceInput) => {
      result.stages.push({ stage, at: new Date(Date.now()).toISOString(), by: a.by, note: a.note });
      p.phase(stage, WHAT_NEXT[stage]);
      await p.record(`stage ${stage}${a.note ? `: ${a.note}` : ''}`, a.by);
    };

    /**
     * Waits in `current` for `advance` to `next` (or with no stage); an advance to another stage is
     * ignored and recorded. Reminders, a page after pageAfter, and after stageTimeout StageTimedOut.
     */
    const advanceTo = async (current: IncidentStage, next: IncidentStage): Promise<AdvanceInput> => {
      let accepted: AdvanceInput | undefined;
      const what = `advance the incident to ${next} (signal "advance" with a note, or atlas-ops incident advance ${shellQuote(wf)} --note …); at most ${formatDuration(waits.stageTimeout)}, then it ends timed-out`;
      await p.waitForPerson(what, 'advance', () => {
        while (!accepted && queued.length) {
          const a = queued.shift()!;
          if (a.stage && a.stage !== next) p.event(`ignored advance to ${a.stage}: the next stage is ${next}`, a.by);
          else accepted = a;
        }
        return accepted !== undefined;
      }, {
        alertCode: `incident:${wf}`,
        pageAfter: waits.pageAfter,
        timeout: waits.stageTimeout,
        onTimeout: () => Promise.reject(new StageTimedOut(current)),
      });
      return accepted!;
    };

    /** The timeout outcome: what was done stays (containment stands), the postmortem says so, a page says what next. */
    const timedOut = async (stage: IncidentStage) => {
      const stillPaused = result.unpausedSchedules.length ? [] : result.pausedSchedules;
      const state = stillPaused.length
        ? `The schedules contain paused stay paused: ${stillPaused.join(', ')} (the containment stands until a person ends it).`
        : result.unpausedSchedules.length ? `The schedules contain paused were unpaused by recover: ${result.unpausedSchedules.join(', ')}.` : 'Nothing was paused or changed.';
      const unpause = stillPaused.length ? ` When it is safe, unpause them: ${stillPaused.map((n) => `atlas-ops schedules unpause ${n}`).join('; ')}.` : '';
      const next = `${NEXT_AFTER_TIMEOUT[stage].replace('<id>', wf)}${unpause} Then fill in the postmortem.`;
      const after = formatDuration(waits.stageTimeout);
      result.outcome = 'timed-out';
      result.timedOut = { stage, after, state, next };
      const outcome = `timed out in stage ${stage}: nobody advanced it within ${after}. ${state} Next: ${next}`;
      await p.record(outcome);
      result.postmortem = await writePostmortem(p.undo, outcome);
      await p.undo.raiseAlert({ code: `incident-timed-out:${wf}`, level: 'critical', message: `incident ${wf} ${outcome}` });
      p.finish('timed-out', `Timed out in stage **${stage}**: nobody advanced it within ${after}.\n\n${state}\n\nNext: ${next}\n\nPostmortem skeleton: ${result.postmortem}`);
    };

    /** What each stage does on entry, beside recording it. */
    const act = async (stage: IncidentStage) => {
      if (stage === 'contain') {
        const r = await p.acts.pauseSchedules({ names: pause, workflowId: wf, procedure: 'incidentResponse' });
        result.pausedSchedules = r.paused;
        await p.record(`paused ${r.paused.join(', ') || 'nothing'}${r.alreadyPaused.length ? `; already paused: ${r.alreadyPaused.join(', ')}` : ''}`);
      } else if (stage === 'investigate') {
        const ev = await p.acts.gatherIncidentEvidence({ workflowId: wf, sinceIso: startedAt, detection: result.detection });
        result.evidence = { dir: ev.dir, files: ev.files.length, alerts: ev.alerts, evidenceFile: ev.evidenceFile, units: ev.units, procedures: ev.procedures };
        await p.record(`evidence in ${ev.dir}: ${ev.files.length} files, ${ev.alerts} alerts, journal of ${ev.units} units, ${ev.procedures.length} procedures (${ev.procedures.join(', ') || 'none'})`);
      } else if (stage === 'recover') {
        result.unpausedSchedules = await p.acts.unpauseSchedules({ names: result.pausedSchedules, workflowId: wf, procedure: 'incidentResponse' });
        await p.record(`unpaused ${result.unpausedSchedules.join(', ') || 'nothing'}`);
      } else if (stage === 'learn') {
        result.postmortem = await writePostmortem(p.acts);
      }
    };

    return {
      result,
      async run() {
        try {
          await enter('detect', { by, note: summary });
          for (const [i, next] of INCIDENT_STAGES.slice(1).entries()) {
            await enter(next, await advanceTo(INCIDENT_STAGES[i]!, next));
            await act(next);
          }
        } catch (err) {
          if (!(err instanceof StageTimedOut)) throw err;
          return timedOut(err.stage);
        }
        finish();
      },
      async undo(exit) {
        // Whatever contain paused runs again: an abandoned incident must not leave the jobs stopped.
        if (exit.kind !== 'aborted') return;
        if (result.pausedSchedules.length && !result.unpausedSchedules.length) {
          result.unpausedSchedules = await undo.unpauseSchedules({ names: result.pausedSchedules, workflowId: wf, procedure: 'incidentResponse' });
        }
      },
      async aborted() {
        result.outcome = 'aborted';
        finish();
      },
    };
  });
}

/**
 * The `alert` signal: a critical alert joins the detection evidence once (a hand-over retried after
 * its signal sends it again); one that is not an alert, or beyond the cap, is said in the status.
 */
function joinAlert(p: Procedure, detection: IncidentAlert[], sent: unknown): void {
  const alert = incidentAlert(sent);
  if (!alert) {
    p.event('ignored an "alert" signal that is not an alert ({"id", "code", "level", "message", "raisedAt"})');
    return;
  }
  if (detection.some((d) => d.id === alert.id)) return;
  if (detection.length >= LIST_MAX) {
    p.event(`alert ${alert.code} not added: the detection evidence holds ${LIST_MAX} alerts already`);
    return;
  }
  detection.push(alert);
  p.event(`alert ${alert.code} (${alert.level}, first raised ${alert.raisedAt}) ${detection.length === 1 ? 'opened' : 'joined'} the incident: ${alert.message}`);
}
