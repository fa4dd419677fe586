// atlas-ops schedules list | apply | pause <id> | unpause <id> | trigger <id>
import type { Command } from 'commander';
import { ScheduleNotFoundError } from '@temporalio/client';
import * as workflows from '../../workflows';
import { applySchedules, describeRow, listSchedules, resolveScheduleName, scheduleId } from '../schedules';
import { EXIT, UsageError, clientFor, configFor, output } from './common';

export const registeredWorkflowTypes = (): Set<string> => new Set(Object.keys(workflows));

export function registerSchedules(program: Command, run: (fn: (cmd: Command) => Promise<number>) => (...args: unknown[]) => Promise<void>): void {
  const s = program.command('schedules').description('the Temporal Schedules that replace the systemd timers');

  s.command('list')
    .description('every atlas schedule: spec, paused, running runs, next run')
    .action(run(async (cmd) => {
      const config = configFor(cmd);
      const rows = await listSchedules(await clientFor(config), config);
      output(cmd, rows, () =>
        rows.length
          ? rows.map((r) => `${r.id.padEnd(24)} ${r.workflowType.padEnd(15)} ${r.spec.padEnd(14)} ${r.paused ? `PAUSED (${r.note})` : 'active'}${r.running ? `, ${r.running} running` : ''}${r.nextRun ? `, next ${r.nextRun}` : ''}`)
          : 'no atlas schedules (run `atlas-ops schedules apply`)',
      );
      return EXIT.ok;
    }));

  s.command('apply')
    .description('create or update the schedules from the configuration (idempotent; keeps paused state)')
    .action(run(async (cmd) => {
      const config = configFor(cmd);
      const result = await applySchedules(await clientFor(config), config, registeredWorkflowTypes());
      output(cmd, result, () => [
        `created: ${result.created.join(', ') || '-'}`,
        `updated: ${result.updated.join(', ') || '-'}`,
        ...(result.deleted.length ? [`deleted (off): ${result.deleted.join(', ')}`] : []),
        ...result.skipped.map((x) => `skipped ${x.id}: ${x.reason}`),
      ]);
      return EXIT.ok;
    }));

  for (const verb of ['pause', 'unpause', 'trigger'] as const) {
    s.command(verb)
      .description(`${verb} one schedule`)
      .argument('<schedule>', 'name or id, e.g. export or atlas-export')
      .option('--note <text>', 'why (shown on the schedule)')
      .action(run(async (cmd) => {
        const [nameOrId] = cmd.args as [string];
        const config = configFor(cmd);
        const def = (() => {
          try {
            return resolveScheduleName(config, nameOrId);
          } catch (err) {
            throw new UsageError((err as Error).message);
          }
        })();
        const id = scheduleId(config, def.name);
        const client = await clientFor(config);
        const handle = client.schedule.getHandle(id);
        const note = cmd.opts().note ?? `${verb}d from the atlas-ops CLI by ${process.env.USER ?? 'unknown'}`;
        try {
          if (verb === 'pause') await handle.pause(note);
          else if (verb === 'unpause') await handle.unpause(note);
          else await handle.trigger();
          const row = describeRow(id, await handle.describe());
          output(cmd, row, () => `${id}: ${verb === 'trigger' ? 'triggered' : row.paused ? 'paused' : 'active'}`);
        } catch (err) {
          if (err instanceof ScheduleNotFoundError) throw new UsageError(`schedule ${id} does not exist (run \`atlas-ops schedules apply\`)`);
          throw err;
        }
        return EXIT.ok;
      }));
  }
}
