// atlas-ops maintenance start | resume | abort | status
import type { Command } from 'commander';
import { resumeUpdate } from '../../../workflows/maintenance';
import { abortSignal } from '../../../workflows/lib/procedure';
import { DURATION_MIN } from '../../workflow-safe/limits';
import type { Run } from '../action';
import { EXIT, UsageError, durationOption, nameOption, textOption } from '../common';
import { queryStatus, recentEventLines } from '../follow';
import { hostOption, procedureId, sendUpdate, startProcedure } from '../procedures';
import { shellQuote } from '../../workflow-safe/shell-quote';

export function registerMaintenance(program: Command, run: Run): void {
  const m = program.command('maintenance').description('Pause → Snapshot → Edit → Resume (the runbook\'s Standard Workflow)');
  startCommand(m, run);
  resumeCommand(m, run);
  abortCommand(m, run);
  statusCommand(m, run);
}

interface StartOptions {
  reason: string;
  by?: string;
  oci?: true;
  sqliteWeb?: true;
  editTimeout?: string;
  reminderInterval?: string;
  drainTimeout?: string;
  wait?: true;
}

function startCommand(m: Command, run: Run): void {
  m.command('start')
    .description('pause the sync and backup schedules, take a verified snapshot, and wait for your edits')
    .option('--reason <text>', 'why (shown in the Web UI and the summary)', textOption('--reason'), 'maintenance')
    .option('--by <name>', 'who asks', nameOption('--by'), process.env.USER)
    .option('--oci', 'also take an OCI block-volume backup')
    .option('--sqlite-web', 'start sqlite-web on 127.0.0.1 for the edit')
    .option('--edit-timeout <duration>', 'critical alert after this long editing (it keeps waiting)', durationOption('--edit-timeout', DURATION_MIN.editTimeout))
    .option('--reminder-interval <duration>', 'reminder alerts while waiting', durationOption('--reminder-interval', DURATION_MIN.reminderInterval))
    .option('--drain-timeout <duration>', 'how long to wait for running syncs and backups', durationOption('--drain-timeout', DURATION_MIN.drainTimeout))
    .addOption(hostOption())
    .option('--wait', 'follow progress until done (exit 0 only when it completed)')
    .action(run<StartOptions>(async (a) => {
      const o = a.opts;
      return startProcedure(a, {
        workflowType: 'maintenance',
        procedure: 'maintenance',
        input: { reason: o.reason, requestedBy: o.by, oci: o.oci, sqliteWeb: o.sqliteWeb, editTimeout: o.editTimeout, reminderInterval: o.reminderInterval, drainTimeout: o.drainTimeout },
        summary: `Maintenance: ${o.reason}`,
        wait: o.wait,
      });
    }));
}

function resumeCommand(m: Command, run: Run): void {
  m.command('resume')
    .description('your edits are done: verify the database and resume the schedules')
    .argument('[workflow-id]', 'the maintenance to resume (default: the running one)')
    .option('--by <name>', 'who resumes', nameOption('--by'), process.env.USER)
    .option('--note <text>', 'what you changed', textOption('--note'))
    .option('--force', 'resume even though integrity_check failed')
    .action(run<{ by?: string; note?: string; force?: true }, [string?]>(async (a) => {
      const client = await a.client();
      const id = await procedureId(client, a.args[0], 'maintenance');
      const { by, note, force } = a.opts;
      return sendUpdate(a, id, 'resume', () => client.workflow.getHandle(id).executeUpdate(resumeUpdate, { args: [{ by, note, force: force === true }] }), (message) => `${message}; follow: atlas-ops status ${shellQuote(id)}`);
    }));
}

function abortCommand(m: Command, run: Run): void {
  m.command('abort')
    .description('undo what was done (flag removed, schedules unpaused), keeping the snapshot')
    .argument('[workflow-id]', 'the maintenance to abort (default: the running one)')
    .option('--rollback', 'also restore the snapshot (the edited database is kept beside it)')
    .option('--by <name>', 'who aborts', nameOption('--by'), process.env.USER)
    .option('--note <text>', 'why', textOption('--note'))
    .action(run<{ rollback?: true; by?: string; note?: string }, [string?]>(async (a) => {
      const client = await a.client();
      const id = await procedureId(client, a.args[0], 'maintenance');
      const handle = client.workflow.getHandle(id);
      if ((await handle.describe()).status.name !== 'RUNNING') throw new UsageError(`maintenance ${id} is not running`);
      const rollback = a.opts.rollback === true;
      await handle.signal(abortSignal, { by: a.opts.by, note: a.opts.note, rollback });
      a.output({ workflowId: id, signalled: 'abort', rollback }, () => `abort sent to ${id}; follow: atlas-ops status ${shellQuote(id)}`);
      return EXIT.ok;
    }));
}

function statusCommand(m: Command, run: Run): void {
  m.command('status')
    .description('where the running (or given) maintenance is')
    .argument('[workflow-id]')
    .action(run<object, [string?]>(async (a) => {
      const client = await a.client();
      const id = await procedureId(client, a.args[0], 'maintenance');
      const status = await queryStatus(client.workflow.getHandle(id));
      if (!status) throw new Error(`maintenance ${id} does not answer its status query (is a worker running?)`);
      a.output(status, () => [
        `${status.procedure} ${id}: ${status.phase} (${status.state})`,
        ...(status.waitingFor ? [`  waiting for: ${status.waitingFor}`] : []),
        ...recentEventLines(status),
      ]);
      return EXIT.ok;
    }));
}
