// atlas-ops schedules list | apply | pause <id> | unpause <id> | trigger <id>
import type { Command } from 'commander';
import * as workflows from '../../../workflows';
import { ScheduleOwnedByAnotherHost, applySchedules, describeRow, listSchedules, resolveScheduleName, scheduleId } from '../../schedules';
import { temporalClient } from '../../temporal/sdk';
import type { Run } from '../action';
import { EXIT, UsageError, textOption } from '../common';

export const registeredWorkflowTypes = (): Set<string> => new Set(Object.keys(workflows));

export function registerSchedules(program: Command, run: Run): void {
  const s = program.command('schedules').description('the Temporal Schedules that replace the systemd timers');
  listCommand(s, run);
  applyCommand(s, run);
  for (const verb of ['pause', 'unpause', 'trigger'] as const) verbCommand(s, run, verb);
}

function listCommand(s: Command, run: Run): void {
  s.command('list')
    .description('every atlas schedule: spec, paused, running runs, next run')
    .action(run(async (a) => {
      const rows = await listSchedules(await a.client(), a.config);
      a.output(rows, () =>
        rows.length
          ? rows.map((r) => `${r.id.padEnd(24)} ${r.workflowType.padEnd(15)} ${r.spec.padEnd(14)} ${r.paused ? `PAUSED (${r.note})` : 'active'}${r.running ? `, ${r.running} running` : ''}${r.nextRun ? `, next ${r.nextRun}` : ''}`)
          : 'no atlas schedules (run `atlas-ops schedules apply`)',
      );
      return EXIT.ok;
    }));
}

function applyCommand(s: Command, run: Run): void {
  s.command('apply')
    .description('create or update the schedules from the configuration (idempotent; keeps paused state)')
    .action(run(async (a) => {
      let result: Awaited<ReturnType<typeof applySchedules>>;
      try {
        result = await applySchedules(await a.client(), a.config, registeredWorkflowTypes());
      } catch (err) {
        // Another host's schedules under the same ids: a configuration to fix, exit 2.
        if (err instanceof ScheduleOwnedByAnotherHost) throw new UsageError(err.message);
        throw err;
      }
      a.output(result, () => [
        `created: ${result.created.join(', ') || '-'}`,
        `updated: ${result.updated.join(', ') || '-'}`,
        ...(result.deleted.length ? [`deleted (off): ${result.deleted.join(', ')}`] : []),
        ...result.skipped.map((x) => `skipped ${x.id}: ${x.reason}`),
      ]);
      return EXIT.ok;
    }));
}

function verbCommand(s: Command, run: Run, verb: 'pause' | 'unpause' | 'trigger'): void {
  s.command(verb)
    .description(`${verb} one schedule`)
    .argument('<schedule>', 'name or id, e.g. export or atlas-export')
    .option('--note <text>', 'why (shown on the schedule)', textOption('--note'))
    .action(run<{ note?: string }, [string]>(async (a) => {
      const [nameOrId] = a.args;
      const { config } = a;
      let def;
      try {
        def = resolveScheduleName(config, nameOrId);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      const id = scheduleId(config, def.name);
      const handle = (await a.client()).schedule.getHandle(id);
      const note = a.opts.note ?? `${verb}d from the atlas-ops CLI by ${process.env.USER ?? 'unknown'}`;
      try {
        if (verb === 'pause') await handle.pause(note);
        else if (verb === 'unpause') await handle.unpause(note);
        else await handle.trigger();
        const row = describeRow(id, await handle.describe());
        a.output(row, () => `${id}: ${verb === 'trigger' ? 'triggered' : row.paused ? 'paused' : 'active'}`);
      } catch (err) {
        if (err instanceof temporalClient().ScheduleNotFoundError) throw new UsageError(`schedule ${id} does not exist (run \`atlas-ops schedules apply\`)`);
        throw err;
      }
      return EXIT.ok;
    }));
}
