// atlas-ops sheets-outage start | restored | abort
import type { Command } from 'commander';
import { restoredSignal, type sheetsOutage } from '../../../workflows/sheets-outage';
import { abortSignal } from '../../../workflows/lib/procedure';
import { OUTAGE_SINGLETON, OUTAGE_WORKFLOW } from '../../workflow-safe/singletons';
import { singletonId, type WorkflowInput } from '../../temporal/start';
import { temporalClient } from '../../temporal/sdk';
import type { Run } from '../action';
import { DURATION_MIN } from '../../workflow-safe/limits';
import { EXIT, UsageError, checkDuration, nameOption, textOption } from '../common';
import { startSingleton } from '../procedures';
import { shellQuote } from '../../workflow-safe/shell-quote';

export function registerSheetsOutage(program: Command, run: Run): void {
  const outage = program.command('sheets-outage').description('the Google Sheets API outage procedure (sheetsOutage)');
  startCommand(outage, run);
  signalCommand(outage, run, 'restored', 'tell the running outage procedure the API is back (it checks, then catches up)');
  signalCommand(outage, run, 'abort', 'stop the outage procedure: it unpauses the sync schedules it paused and resolves its alert');
}

interface StartOptions {
  reason: string;
  by?: string;
  pollIntervals?: string;
  wait?: true;
}

function startCommand(outage: Command, run: Run): void {
  outage
    .command('start')
    .description('verify connectivity, pause sync, alert, poll until the API is back, catch up, unpause')
    .option('--reason <text>', 'why', textOption('--reason'), 'started by the operator')
    .option('--by <name>', 'who starts it', nameOption('--by'), process.env.USER)
    .option('--poll-intervals <list>', 'growing poll intervals, e.g. 1m,2m,5m,10m (the last repeats)')
    .option('--wait', 'follow progress until done')
    .action(run<StartOptions>(async (a) => {
      const o = a.opts;
      const input: WorkflowInput<typeof sheetsOutage> = {
        reason: o.reason,
        requestedBy: o.by,
        pollIntervals: o.pollIntervals ? o.pollIntervals.split(',').map((d) => checkDuration(d, '--poll-intervals', DURATION_MIN.pollInterval).trim()) : undefined,
      };
      return startSingleton(a, {
        workflowType: OUTAGE_WORKFLOW,
        procedure: OUTAGE_WORKFLOW,
        name: OUTAGE_SINGLETON,
        input,
        summary: `Sheets outage: ${o.reason}`,
        wait: o.wait,
        next: 'when the API is back: atlas-ops sheets-outage restored',
      });
    }));
}

function signalCommand(outage: Command, run: Run, name: 'restored' | 'abort', description: string): void {
  outage
    .command(name)
    .description(description)
    .option('--by <name>', 'who', nameOption('--by'), process.env.USER)
    .option('--note <text>', 'why', textOption('--note'))
    .action(run<{ by?: string; note?: string }>(async (a) => {
      const id = singletonId(a.config, OUTAGE_SINGLETON);
      const handle = (await a.client()).workflow.getHandle(id);
      try {
        if ((await handle.describe()).status.name !== 'RUNNING') throw new UsageError(`no sheets outage procedure is running (${id} has ended)`);
      } catch (err) {
        if (err instanceof temporalClient().WorkflowNotFoundError) throw new UsageError(`no sheets outage procedure is running (${id} does not exist)`);
        throw err;
      }
      const actor = { by: a.opts.by, note: a.opts.note };
      if (name === 'restored') await handle.signal(restoredSignal, actor);
      else await handle.signal(abortSignal, actor);
      a.output({ workflowId: id, signalled: name }, () => `${name} sent to ${id}; follow: atlas-ops status ${shellQuote(id)}`);
      return EXIT.ok;
    }));
}
