// atlas-ops status <workflow-id> | decide <workflow-id> <decision>
import type { Command } from 'commander';
import { decideUpdate, DECISIONS, type Decision } from '../../workflows/lib/procedure';
import { EXIT, UsageError, clientFor, configFor, link, output } from './common';
import { failureMessage, queryStatus } from './follow';

export function registerStatus(program: Command, run: (fn: (cmd: Command) => Promise<number>) => (...args: unknown[]) => Promise<void>): void {
  program
    .command('status')
    .description('the state of any procedure: phase, what it waits for, recent events, result')
    .argument('<workflow-id>')
    .action(run(async (cmd) => {
      const [id] = cmd.args as [string];
      const config = configFor(cmd);
      const client = await clientFor(config);
      const handle = client.workflow.getHandle(id);
      let d;
      try {
        d = await handle.describe();
      } catch (err) {
        if ((err as Error).name === 'WorkflowNotFoundError') throw new UsageError(`workflow ${id} does not exist`);
        throw err;
      }
      const status = d.status.name === 'RUNNING' ? await queryStatus(handle) : undefined;
      let result: unknown;
      let error: string | undefined;
      if (d.status.name === 'COMPLETED') result = await handle.result();
      else if (d.status.name !== 'RUNNING') {
        try {
          await handle.result();
        } catch (err) {
          error = failureMessage(err);
        }
      }
      output(cmd, { workflowId: id, type: d.type, execution: d.status.name, url: link(config, id), status, result, error }, () => [
        `${d.type} ${id}: ${d.status.name}${status ? `, phase ${status.phase} (${status.state})` : ''}`,
        `  ${link(config, id)}`,
        ...(status?.waitingFor ? [`  waiting for: ${status.waitingFor}`] : []),
        ...(status?.events.slice(-10).map((e) => `  ${e.at} ${e.actor ? `${e.actor}: ` : ''}${e.message}`) ?? []),
        ...(result !== undefined ? [`  result: ${JSON.stringify(result)}`] : []),
        ...(error ? [`  error: ${error}`] : []),
      ]);
      return EXIT.ok;
    }));

  program
    .command('decide')
    .description('the operator\'s decision on a failed step: retry, skip, rollback or abort')
    .argument('<workflow-id>')
    .argument('<decision>', DECISIONS.join(' | '))
    .option('--by <name>', 'who decides', process.env.USER)
    .option('--note <text>', 'why')
    .action(run(async (cmd) => {
      const [id, decision] = cmd.args as [string, string];
      if (!DECISIONS.includes(decision as Decision)) throw new UsageError(`decision: "${decision}" is not one of ${DECISIONS.join(', ')}`);
      const config = configFor(cmd);
      const client = await clientFor(config);
      const o = cmd.opts();
      try {
        const message = await client.workflow.getHandle(id).executeUpdate(decideUpdate, { args: [{ decision: decision as Decision, by: o.by, note: o.note }] });
        output(cmd, { workflowId: id, accepted: true, message }, () => message);
        return EXIT.ok;
      } catch (err) {
        if ((err as Error).name === 'WorkflowNotFoundError') throw new UsageError(`workflow ${id} does not exist`);
        const message = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
        output(cmd, { workflowId: id, accepted: false, error: message }, () => `decision refused: ${message}`);
        return EXIT.usage;
      }
    }));
}
