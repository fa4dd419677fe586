// The runbook's incident response: detect → assess → contain → investigate → remediate → recover
// → learn. Each stage is entered on the operator's `advance` signal, whose note goes on the record.
// Contain pauses the automated jobs; recover (or an abort) unpauses exactly those.
import { defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';
import type { HostActivities } from '../activities';
import { INCIDENT_STAGES, type AdvanceInput, type IncidentStage } from '../src/workflow-safe/incident-stages';
import { CONTAINED_BY_INCIDENT } from '../src/workflow-safe/schedule-names';
import { HOME, HOST_QUEUE, REMINDER_INTERVAL, inputTable, type InputOf } from './lib/input';
import { boundedText } from './lib/procedure';
import { runProcedure } from './lib/template';
import { shellQuote } from '../src/workflow-safe/shell-quote';

export const advanceSignal = defineSignal<[AdvanceInput]>('advance');

export const INCIDENT_INPUT = inputTable([
  { name: 'summary', type: 'text', default: 'incident', notBlank: true, doc: 'What happened, in a line: the postmortem title (not blank).' },
  { name: 'by', type: 'string', doc: 'Who declared it.' },
  { name: 'pause', type: 'scheduleNames', default: [...CONTAINED_BY_INCIDENT], doc: 'Schedules contain pauses (names such as "export", checked at start); default: all but monitoring.' },
  REMINDER_INTERVAL,
  HOST_QUEUE,
  HOME,
]);

export type IncidentInput = InputOf<typeof INCIDENT_INPUT>;

export interface IncidentResult {
  outcome: 'completed' | 'aborted';
  workflowId: string;
  summary: string;
  stages: { stage: IncidentStage; at: string; by?: string; note?: string }[];
  pausedSchedules: string[];
  unpausedSchedules: string[];
  evidence?: { dir: string; files: number; alerts: number };
  postmortem?: string;
}

const WHAT_NEXT: Record<IncidentStage, string> = {
  detect: 'Incident declared.',
  assess: 'Determine scope and impact; advance to contain with what you found.',
  contain: 'Automated jobs paused. Advance to investigate when the situation is stable.',
  investigate: 'Logs and recent alerts collected under reports/. Advance to remediate with the findings.',
  remediate: 'Fix the root cause; advance to recover when fixed.',
  recover: 'Schedules unpaused. Watch the next runs; advance to learn when normal.',
  learn: 'Postmortem skeleton written under reports/.',
};

export function incidentResponse(input?: IncidentInput): Promise<IncidentResult> {
  return runProcedure({ name: 'incidentResponse', input: INCIDENT_INPUT }, input, (p, { summary, by, pause }) => {
    const undo = proxyActivities<HostActivities>({ taskQueue: p.context.hostQueue, startToCloseTimeout: '2m', retry: { initialInterval: '1s', maximumInterval: '1m' } });
    const wf = p.workflowId;
    const startedAt = p.status.startedAt;
    const result: IncidentResult = { outcome: 'completed', workflowId: wf, summary, stages: [], pausedSchedules: [], unpausedSchedules: [] };
    const finish = () => p.finish(result.outcome, result.outcome === 'completed' ? `Closed. Postmortem: ${result.postmortem}` : 'Aborted; paused schedules were unpaused.');

    const queued: AdvanceInput[] = [];
    setHandler(advanceSignal, (a) => {
      queued.push(boundedText(a));
    });

    const enter = async (stage: IncidentStage, a: AdvanceInput) => {
      result.stages.push({ stage, at: new Date(Date.now()).toISOString(), by: a.by, note: a.note });
      p.phase(stage, WHAT_NEXT[stage]);
      await p.record(`stage ${stage}${a.note ? `: ${a.note}` : ''}`, a.by);
    };

    /** Waits for `advance` to `next` (or with no stage); an advance to another stage is ignored and recorded. */
    const advanceTo = async (next: IncidentStage): Promise<AdvanceInput> => {
      let accepted: AdvanceInput | undefined;
      await p.waitForPerson(`advance the incident to ${next} (signal "advance" with a note, or atlas-ops incident advance ${shellQuote(wf)} --note …)`, 'advance', () => {
        while (!accepted && queued.length) {
          const a = queued.shift()!;
          if (a.stage && a.stage !== next) p.event(`ignored advance to ${a.stage}: the next stage is ${next}`, a.by);
          else accepted = a;
        }
        return accepted !== undefined;
      }, { alertCode: `incident:${wf}` });
      return accepted!;
    };

    /** What each stage does on entry, beside recording it. */
    const act = async (stage: IncidentStage) => {
      if (stage === 'contain') {
        const r = await p.acts.pauseSchedules({ names: pause, workflowId: wf, procedure: 'incidentResponse' });
        result.pausedSchedules = r.paused;
        await p.record(`paused ${r.paused.join(', ') || 'nothing'}${r.alreadyPaused.length ? `; already paused: ${r.alreadyPaused.join(', ')}` : ''}`);
      } else if (stage === 'investigate') {
        const ev = await p.acts.gatherIncidentEvidence({ workflowId: wf, sinceIso: startedAt });
        result.evidence = { dir: ev.dir, files: ev.files.length, alerts: ev.alerts };
        await p.record(`evidence in ${ev.dir}: ${ev.files.length} files, ${ev.alerts} alerts`);
      } else if (stage === 'recover') {
        result.unpausedSchedules = await p.acts.unpauseSchedules({ names: result.pausedSchedules, workflowId: wf, procedure: 'incidentResponse' });
        await p.record(`unpaused ${result.unpausedSchedules.join(', ') || 'nothing'}`);
      } else if (stage === 'learn') {
        result.postmortem = (await p.acts.writePostmortem({ workflowId: wf, title: summary })).file;
      }
    };

    return {
      result,
      async run() {
        await enter('detect', { by, note: summary });
        for (const next of INCIDENT_STAGES.slice(1)) {
          await enter(next, await advanceTo(next));
          await act(next);
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
