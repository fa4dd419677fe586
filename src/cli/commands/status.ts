// atlas-ops status <workflow-id> | decide <workflow-id> <decision>
import type { Command } from 'commander';
import type { WorkflowHandle } from '@temporalio/client';
import { decisionUpdate, DECISIONS, type Decision } from '../../../workflows/lib/procedure';
import type { Run } from '../action';
import { EXIT, UsageError, link, nameOption, textOption } from '../common';
import { failureMessage, queryStatus, recentEventLines } from '../follow';
import { sendUpdate } from '../procedures';

export function registerStatus(program: Command, run: Run): void {
  statusCommand(program, run);
  decideCommand(program, run);
}

/** How a workflow that is no longer running ended: its result, or its failure in words. */
async function outcomeOf(handle: WorkflowHandle, execution: string): Promise<{ result?: unknown; error?: string }> {
  if (execution === 'COMPLETED') return { result: await handle.result() };
  if (execution === 'RUNNING') return {};
  try {
    await handle.result();
    return {};
  } catch (err) {
    return { error: failureMessage(err) };
  }
}

function statusCommand(program: Command, run: Run): void {
  program
    .command('status')
    .description('the state of any procedure: phase, what it waits for, recent events, result')
    .argument('<workflow-id>')
    .action(run<object, [string]>(async (a) => {
      const [id] = a.args;
      const { config } = a;
      const handle = (await a.client()).workflow.getHandle(id);
      let d;
      try {
        d = await handle.describe();
      } catch (err) {
        if ((err as Error).name === 'WorkflowNotFoundError') throw new UsageError(`workflow ${id} does not exist`);
        throw err;
      }
      const status = d.status.name === 'RUNNING' ? await queryStatus(handle) : undefined;
      const { result, error } = await outcomeOf(handle, d.status.name);
      a.output({ workflowId: id, type: d.type, execution: d.status.name, url: link(config, id), status, result, error }, () => [
        `${d.type} ${id}: ${d.status.name}${status ? `, phase ${status.phase} (${status.state})` : ''}`,
        `  ${link(config, id)}`,
        ...(status?.waitingFor ? [`  waiting for: ${status.waitingFor}`] : []),
        ...(status ? recentEventLines(status) : []),
        ...(result !== undefined ? [`  result: ${JSON.stringify(result)}`] : []),
        ...(error ? [`  error: ${error}`] : []),
      ]);
      return EXIT.ok;
    }));
}

function decideCommand(program: Command, run: Run): void {
  program
    .command('decide')
    .description('the operator\'s decision on a failed step: retry, skip, rollback or abort')
    .argument('<workflow-id>')
    .argument('<decision>', DECISIONS.join(' | '))
    .option('--by <name>', 'who decides', nameOption('--by'), process.env.USER)
    .option('--note <text>', 'why', textOption('--note'))
    .action(run<{ by?: string; note?: string }, [string, string]>(async (a) => {
      const [id, decision] = a.args;
      if (!DECISIONS.includes(decision as Decision)) throw new UsageError(`decision: "${decision}" is not one of ${DECISIONS.join(', ')}`);
      const client = await a.client();
      const input = { decision: decision as Decision, by: a.opts.by, note: a.opts.note };
      return sendUpdate(a, id, 'decision', async () => {
        try {
          return await client.workflow.getHandle(id).executeUpdate(decisionUpdate, { args: [input] });
        } catch (err) {
          // Any workflow id may be given here: one that does not exist is bad input, not a refusal.
          if ((err as Error).name === 'WorkflowNotFoundError') throw new UsageError(`workflow ${id} does not exist`);
          throw err;
        }
      });
    }));
}
