// atlas-ops maintenance start | resume | abort | status
import type { Command } from 'commander';
import { parseDuration } from '../workflow-safe/duration';
import { resumeUpdate } from '../../workflows/maintenance';
import { abortSignal } from '../../workflows/lib/procedure';
import { EXIT, UsageError, clientFor, configFor, output } from './common';
import { queryStatus } from './follow';
import { procedureId, startProcedure } from './procedures';

const durationOption = (field: string) => (value: string) => {
  try {
    parseDuration(value, field);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return value;
};

export function registerMaintenance(program: Command, run: (fn: (cmd: Command) => Promise<number>) => (...args: unknown[]) => Promise<void>): void {
  const m = program.command('maintenance').description('Pause → Snapshot → Edit → Resume (the runbook\'s Standard Workflow)');

  m.command('start')
    .description('pause the sync and backup schedules, take a verified snapshot, and wait for your edits')
    .option('--reason <text>', 'why (shown in the Web UI and the summary)', 'maintenance')
    .option('--by <name>', 'who asks', process.env.USER)
    .option('--oci', 'also take an OCI block-volume backup')
    .option('--sqlite-web', 'start sqlite-web on 127.0.0.1 for the edit')
    .option('--edit-timeout <duration>', 'critical alert after this long editing (it keeps waiting)', durationOption('--edit-timeout'))
    .option('--reminder-interval <duration>', 'reminder alerts while waiting', durationOption('--reminder-interval'))
    .option('--drain-timeout <duration>', 'how long to wait for running syncs and backups', durationOption('--drain-timeout'))
    .option('--wait', 'follow progress until done (exit 0 only when it completed)')
    .action(run(async (cmd) => {
      const o = cmd.opts();
      const config = configFor(cmd);
      const client = await clientFor(config);
      const input: Record<string, unknown> = { reason: o.reason, requestedBy: o.by };
      if (o.oci) input.oci = true;
      if (o.sqliteWeb) input.sqliteWeb = true;
      if (o.editTimeout) input.editTimeout = o.editTimeout;
      if (o.reminderInterval) input.reminderInterval = o.reminderInterval;
      if (o.drainTimeout) input.drainTimeout = o.drainTimeout;
      return startProcedure(cmd, config, client, { workflowType: 'maintenance', procedure: 'maintenance', input, summary: `Maintenance: ${o.reason}`, wait: o.wait });
    }));

  m.command('resume')
    .description('your edits are done: verify the database and resume the schedules')
    .argument('[workflow-id]', 'the maintenance to resume (default: the running one)')
    .option('--by <name>', 'who resumes', process.env.USER)
    .option('--note <text>', 'what you changed')
    .option('--force', 'resume even though integrity_check failed')
    .action(run(async (cmd) => {
      const [given] = cmd.args as [string?];
      const o = cmd.opts();
      const config = configFor(cmd);
      const client = await clientFor(config);
      const id = await procedureId(client, given, 'maintenance');
      const handle = client.workflow.getHandle(id);
      try {
        const message = await handle.executeUpdate(resumeUpdate, { args: [{ by: o.by, note: o.note, force: o.force === true }] });
        output(cmd, { workflowId: id, accepted: true, message }, () => `${message}; follow: atlas-ops status ${id}`);
        return EXIT.ok;
      } catch (err) {
        const message = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
        output(cmd, { workflowId: id, accepted: false, error: message }, () => `resume refused: ${message}`);
        return EXIT.usage;
      }
    }));

  m.command('abort')
    .description('undo what was done (flag removed, schedules unpaused), keeping the snapshot')
    .argument('[workflow-id]', 'the maintenance to abort (default: the running one)')
    .option('--rollback', 'also restore the snapshot (the edited database is kept beside it)')
    .option('--by <name>', 'who aborts', process.env.USER)
    .option('--note <text>', 'why')
    .action(run(async (cmd) => {
      const [given] = cmd.args as [string?];
      const o = cmd.opts();
      const config = configFor(cmd);
      const client = await clientFor(config);
      const id = await procedureId(client, given, 'maintenance');
      const handle = client.workflow.getHandle(id);
      if ((await handle.describe()).status.name !== 'RUNNING') throw new UsageError(`maintenance ${id} is not running`);
      await handle.signal(abortSignal, { by: o.by, note: o.note, rollback: o.rollback === true });
      output(cmd, { workflowId: id, signalled: 'abort', rollback: o.rollback === true }, () => `abort sent to ${id}; follow: atlas-ops status ${id}`);
      return EXIT.ok;
    }));

  m.command('status')
    .description('where the running (or given) maintenance is')
    .argument('[workflow-id]')
    .action(run(async (cmd) => {
      const [given] = cmd.args as [string?];
      const config = configFor(cmd);
      const client = await clientFor(config);
      const id = await procedureId(client, given, 'maintenance');
      const status = await queryStatus(client.workflow.getHandle(id));
      if (!status) throw new Error(`maintenance ${id} does not answer its status query (is a worker running?)`);
      output(cmd, status, () => [
        `${status.procedure} ${id}: ${status.phase} (${status.state})`,
        ...(status.waitingFor ? [`  waiting for: ${status.waitingFor}`] : []),
        ...status.events.slice(-10).map((e) => `  ${e.at} ${e.actor ? `${e.actor}: ` : ''}${e.message}`),
      ]);
      return EXIT.ok;
    }));

}
