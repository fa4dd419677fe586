// atlas-ops incident start | advance
import type { Command } from 'commander';
import { advanceSignal } from '../../../workflows/incident';
import { INCIDENT_STAGES, type IncidentStage } from '../../workflow-safe/incident-stages';
import { unknownSchedulesProblem } from '../../workflow-safe/schedule-names';
import type { Run } from '../action';
import { EXIT, UsageError, nameOption, textOption } from '../common';
import { queryStatus } from '../follow';
import { hostOption, procedureId, startSingleton } from '../procedures';
import { INCIDENT } from '../../workflow-safe/singletons';
import { shellQuote } from '../../workflow-safe/shell-quote';

export function registerIncident(program: Command, run: Run): void {
  const incident = program.command('incident').description('incident response: detect, assess, contain, investigate, remediate, recover, learn');
  startCommand(incident, run);
  advanceCommand(incident, run);
}

/** --pause: schedule names; a typo would otherwise leave that job running through the incident. */
function pauseList(value: string): string[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  const problem = unknownSchedulesProblem(names);
  if (problem) throw new UsageError(`--pause: ${problem}`);
  return names;
}

function startCommand(incident: Command, run: Run): void {
  incident
    .command('start')
    .description('declare an incident (stage detect), or join the open one; advance it stage by stage')
    .requiredOption('--summary <text>', 'what happened', textOption('--summary'))
    .option('--by <name>', 'who declares it', nameOption('--by'), process.env.USER)
    .option('--pause <schedules>', 'comma-separated schedules contain pauses (default: all but health and digest)')
    .addOption(hostOption())
    .option('--wait', 'follow it until it is closed')
    .action(run<{ summary: string; by?: string; pause?: string; wait?: true }>(async (a) => {
      const o = a.opts;
      if (!o.summary.trim()) throw new UsageError('--summary: must not be blank (it is the postmortem\'s title)');
      // One open incident per Atlas (singleton `incident`): critical alerts join the same one.
      return startSingleton(a, {
        workflowType: 'incidentResponse',
        procedure: 'incident',
        name: INCIDENT,
        input: { summary: o.summary, by: o.by, pause: o.pause ? pauseList(String(o.pause)) : undefined },
        summary: `Incident: ${o.summary}`,
        wait: o.wait,
      });
    }));
}

function advanceCommand(incident: Command, run: Run): void {
  incident
    .command('advance')
    .description('finish the current stage with a note and enter the next one')
    .argument('[workflow-id]', 'the incident (default: the running one)')
    .requiredOption('--note <text>', 'what this stage found or did (goes into the postmortem timeline)', textOption('--note'))
    .option('--by <name>', 'who', nameOption('--by'), process.env.USER)
    .action(run<{ note: string; by?: string }, [string?]>(async (a) => {
      const client = await a.client();
      const id = await procedureId(client, a.args[0], 'incidentResponse');
      const handle = client.workflow.getHandle(id);
      const status = await queryStatus(handle);
      if (!status) throw new UsageError(`incident ${id} does not answer (is it running, is a worker up?)`);
      const current = INCIDENT_STAGES.indexOf(status.phase as IncidentStage);
      if (current < 0 || current === INCIDENT_STAGES.length - 1) throw new UsageError(`incident ${id} is in phase ${status.phase}: nothing to advance`);
      const next = INCIDENT_STAGES[current + 1]!;
      await handle.signal(advanceSignal, { stage: next, note: a.opts.note, by: a.opts.by });
      a.output({ workflowId: id, from: status.phase, to: next }, () => `incident ${id}: ${status.phase} → ${next}; follow: atlas-ops status ${shellQuote(id)}`);
      return EXIT.ok;
    }));
}
