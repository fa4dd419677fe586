// Following a procedure from the CLI (--wait): prints each phase, what it waits for and the exact
// command that moves it on; returns the exit code (0 only when the procedure completed).
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { AtlasConfig } from '../config';
import { statusQuery, type ProcedureStatus } from '../../workflows/lib/procedure';
import { EXIT, colour, link } from './common';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function queryStatus(handle: WorkflowHandle): Promise<ProcedureStatus | undefined> {
  try {
    return await handle.query(statusQuery);
  } catch {
    // Not yet registered (the procedure is still starting) or the worker is away.
    return undefined;
  }
}

const STARTING = new Set(['start', 'lock']);
const ENDED = new Set(['completed', 'aborted', 'rolled-back', 'failed']);

/** The describe() status name of a workflow: RUNNING, COMPLETED, FAILED, … */
async function executionStatus(handle: WorkflowHandle): Promise<string> {
  return (await handle.describe()).status.name;
}

/**
 * Waits until the procedure got past its start (lock and input checks), so that a refused start
 * is reported by the command that made it. Returns the failure message if it failed.
 */
export async function waitUntilStarted(handle: WorkflowHandle, timeoutMs = 20_000): Promise<{ failed?: string; status?: ProcedureStatus }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await executionStatus(handle)) !== 'RUNNING') {
      try {
        await handle.result();
        return {};
      } catch (err) {
        return { failed: failureMessage(err) };
      }
    }
    const status = await queryStatus(handle);
    // A procedure that ended is reported from its result on the next turn, not from its last status.
    if (status && !STARTING.has(status.phase) && !ENDED.has(status.state)) return { status };
    await sleep(200);
  }
  return {};
}

export function failureMessage(err: unknown): string {
  if (err instanceof WorkflowFailedError) {
    const cause = err.cause as (Error & { cause?: Error }) | undefined;
    return cause?.cause?.message && !cause.message ? cause.cause.message : cause?.message ?? err.message;
  }
  return (err as Error).message;
}

export interface Outcome {
  exitCode: number;
  result?: unknown;
  error?: string;
}

export function exitCodeFor(result: unknown): number {
  const outcome = (result as { outcome?: string } | undefined)?.outcome;
  return outcome === undefined || outcome === 'completed' || outcome === 'ok' ? EXIT.ok : EXIT.notCompleted;
}

export async function followProcedure(client: Client, config: AtlasConfig, workflowId: string, print: (line: string) => void, pollMs = 1000): Promise<Outcome> {
  const handle = client.workflow.getHandle(workflowId);
  let lastPhase = '';
  let lastWaiting = '';
  let lastEvents = 0;
  for (;;) {
    const running = (await executionStatus(handle)) === 'RUNNING';
    if (!running) break;
    const status = await queryStatus(handle);
    if (status) {
      for (const e of status.events.slice(lastEvents)) print(`  ${e.at.slice(11, 19)} ${e.actor ? `${e.actor}: ` : ''}${e.message}`);
      lastEvents = status.events.length;
      if (status.phase !== lastPhase) {
        print(`${colour.bold(`[${status.phase}]`)} ${status.procedure} ${workflowId}`);
        lastPhase = status.phase;
      }
      const waiting = status.failedStep ? `failed step ${status.failedStep.step}: ${status.failedStep.error}` : status.waitingFor ?? '';
      if (waiting !== lastWaiting) {
        if (status.failedStep) {
          print(colour.red(`  step "${status.failedStep.step}" failed: ${status.failedStep.error}`));
          print(`  decide: atlas-ops decide ${workflowId} <${status.failedStep.allowed.join('|')}>`);
        } else if (status.waitingFor) {
          print(colour.yellow(`  waiting for: ${status.waitingFor}`));
          if (status.procedure === 'maintenance' && status.phase === 'edit') {
            print(`  when done:   atlas-ops maintenance resume ${workflowId} --by <you> --note "<what changed>"`);
            print(`  to give up:  atlas-ops maintenance abort ${workflowId} [--rollback]`);
          }
          print(`  or in the Web UI: ${link(config, workflowId)}`);
        }
        lastWaiting = waiting;
      }
    }
    await sleep(pollMs);
  }
  try {
    const result = await handle.result();
    return { exitCode: exitCodeFor(result), result };
  } catch (err) {
    return { exitCode: EXIT.failed, error: failureMessage(err) };
  }
}
