// The runbook's incident response: detect → assess → contain → investigate → remediate → recover
// → learn. Each stage is entered on the operator's `advance` signal, whose note goes on the record.
// Contain pauses the automated jobs; recover (or an abort) unpauses exactly those.
import { defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';
import type { HostActivities } from '../activities';
import { INCIDENT_STAGES, type AdvanceInput, type IncidentStage } from '../src/workflow-safe/incident-stages';
import { CONTAINED_BY_INCIDENT } from '../src/workflow-safe/schedule-names';
import { inputObject, invalid, optionalDuration, optionalString, rejectUnknown } from './lib/input';
import { AbortRequested, Procedure } from './lib/procedure';

export const advanceSignal = defineSignal<[AdvanceInput]>('advance');

export interface IncidentInput {
  summary?: string;
  by?: string;
  /** Schedules contain pauses (names such as "export"); default: all but monitoring. */
  pause?: string[];
  reminderInterval?: string | number;
  hostQueue?: string;
}

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

const FIELDS = ['summary', 'by', 'pause', 'reminderInterval', 'hostQueue'] as const;

const WHAT_NEXT: Record<IncidentStage, string> = {
  detect: 'Incident declared.',
  assess: 'Determine scope and impact; advance to contain with what you found.',
  contain: 'Automated jobs paused. Advance to investigate when the situation is stable.',
  investigate: 'Logs and recent alerts collected under reports/. Advance to remediate with the findings.',
  remediate: 'Fix the root cause; advance to recover when fixed.',
  recover: 'Schedules unpaused. Watch the next runs; advance to learn when normal.',
  learn: 'Postmortem skeleton written under reports/.',
};

export async function incidentResponse(rawInput?: IncidentInput): Promise<IncidentResult> {
  const input = inputObject(rawInput, 'incidentResponse');
  rejectUnknown(input, FIELDS);
  const summary = optionalString(input, 'summary') ?? 'incident';
  const by = optionalString(input, 'by');
  let pause: string[] = [...CONTAINED_BY_INCIDENT];
  if (input.pause !== undefined) {
    if (!Array.isArray(input.pause) || input.pause.some((n) => typeof n !== 'string')) throw invalid('pause', `expected a list of schedule names, got ${JSON.stringify(input.pause)}`);
    pause = input.pause as string[];
  }
  const p = await Procedure.start('incidentResponse', { reminderInterval: optionalDuration(input, 'reminderInterval'), hostQueue: optionalString(input, 'hostQueue') });
  const undo = proxyActivities<HostActivities>({ taskQueue: p.context.hostQueue, startToCloseTimeout: '2m', retry: { initialInterval: '1s', maximumInterval: '1m' } });
  const wf = p.workflowId;
  const startedAt = p.status.startedAt;
  const result: IncidentResult = { outcome: 'completed', workflowId: wf, summary, stages: [], pausedSchedules: [], unpausedSchedules: [] };
  p.status.facts = result as unknown as Record<string, unknown>;

  const queued: AdvanceInput[] = [];
  setHandler(advanceSignal, (a) => {
    queued.push(a ?? {});
  });

  const enter = async (stage: IncidentStage, a: AdvanceInput) => {
    result.stages.push({ stage, at: new Date(Date.now()).toISOString(), by: a.by, note: a.note });
    p.phase(stage, WHAT_NEXT[stage]);
    await p.record(`stage ${stage}${a.note ? `: ${a.note}` : ''}`, a.by);
  };

  try {
    await enter('detect', { by, note: summary });
    for (let i = 1; i < INCIDENT_STAGES.length; i++) {
      const next = INCIDENT_STAGES[i]!;
      let accepted: AdvanceInput | undefined;
      await p.waitForPerson(`advance the incident to ${next} (signal "advance" with a note, or atlas-ops incident advance ${wf} --note …)`, 'advance', () => {
        while (!accepted && queued.length) {
          const a = queued.shift()!;
          if (a.stage && a.stage !== next) p.event(`ignored advance to ${a.stage}: the next stage is ${next}`, a.by);
          else accepted = a;
        }
        return accepted !== undefined;
      }, { alertCode: `incident:${wf}` });
      await enter(next, accepted!);
      if (next === 'contain') {
        const r = await p.acts.pauseSchedules({ names: pause, workflowId: wf, procedure: 'incidentResponse' });
        result.pausedSchedules = r.paused;
        await p.record(`paused ${r.paused.join(', ') || 'nothing'}${r.alreadyPaused.length ? `; already paused: ${r.alreadyPaused.join(', ')}` : ''}`);
      } else if (next === 'investigate') {
        const ev = await p.acts.gatherIncidentEvidence({ workflowId: wf, sinceIso: startedAt });
        result.evidence = { dir: ev.dir, files: ev.files.length, alerts: ev.alerts };
        await p.record(`evidence in ${ev.dir}: ${ev.files.length} files, ${ev.alerts} alerts`);
      } else if (next === 'recover') {
        result.unpausedSchedules = await p.acts.unpauseSchedules({ names: result.pausedSchedules, workflowId: wf, procedure: 'incidentResponse' });
        await p.record(`unpaused ${result.unpausedSchedules.join(', ') || 'nothing'}`);
      } else if (next === 'learn') {
        result.postmortem = (await p.acts.writePostmortem({ workflowId: wf, title: summary })).file;
      }
    }
  } catch (err) {
    if (!(err instanceof AbortRequested)) throw err;
    result.outcome = 'aborted';
    // Whatever contain paused runs again: an abandoned incident must not leave the jobs stopped.
    if (result.pausedSchedules.length && !result.unpausedSchedules.length) {
      result.unpausedSchedules = await undo.unpauseSchedules({ names: result.pausedSchedules, workflowId: wf, procedure: 'incidentResponse' });
    }
  }
  p.finish(result.outcome, result.outcome === 'completed' ? `Closed. Postmortem: ${result.postmortem}` : 'Aborted; paused schedules were unpaused.');
  return result;
}
