// The shape every procedure shares, written once: validate the input against its table, start the
// Procedure, show the result as status facts, run the body, and own the three exits (abort,
// rollback, failure) with the undo on each. A workflow supplies only what is its own: the body,
// what to undo, and the words of each exit.
import { ApplicationFailure } from '@temporalio/workflow';
import type { FailureKind, FailureType } from '../../src/workflow-safe/failures';
import { parseInput, type ArgsOf, type InputTable } from './input';
import { AbortRequested, Procedure, RollbackRequested, type Actor } from './procedure';

/** How a procedure ends other than by completing. */
export type Exit = { kind: 'aborted'; actor: Actor & { rollback?: boolean } } | { kind: 'rolled-back'; actor: Actor } | { kind: 'failed'; error: Error };

export interface ProcedureSpec<T extends InputTable> {
  /** The workflow type and the procedure's name in statuses, events and summaries. */
  name: string;
  input: T;
  /** The failure (from the catalogue) of an unexpected error; without it the error leaves the workflow as it came. */
  failure?: FailureKind<FailureType>;
  /** Keep the unexpected error as the failure's cause. */
  keepCause?: boolean;
}

/** What one run of a procedure supplies to the template. */
export interface ProcedureBody<R extends object> {
  /** The result, filled in as the procedure goes: shown live as the status facts, returned at the end. */
  result: R;
  /** The runbook's phases, in order. */
  run(): Promise<void>;
  /** Back to the safe state, on every exit that is not completion (before the exit's own words). */
  undo?(exit: Exit): Promise<void>;
  /** Abort: record the outcome and finish; default `Aborted.` Aborted procedures return their result. */
  aborted?(actor: Actor & { rollback?: boolean }): Promise<void>;
  /** Rollback chosen at a failed step (or by the procedure's own rollback signal). */
  rolledBack?(actor: Actor): Promise<void>;
  /** After the failure's undo and `finish('failed')`, before the failure leaves the workflow. */
  failed?(error: Error): Promise<void>;
  /** Always, last (a lock held for the whole procedure). */
  release?(): Promise<void>;
}

/** Procedure options the common input fields carry (see input.ts HOST_QUEUE, HOME, DECISION_TIMEOUT, REMINDER_INTERVAL). */
function optionsOf(args: Record<string, unknown>) {
  const ms = (v: unknown) => (typeof v === 'number' ? v : undefined);
  return {
    hostQueue: typeof args.hostQueue === 'string' ? args.hostQueue : undefined,
    home: typeof args.home === 'string' ? args.home : undefined,
    decisionTimeout: ms(args.decisionTimeout),
    reminderInterval: ms(args.reminderInterval),
  };
}

/**
 * The template's light form, for a workflow with no step to decide on and nothing to undo (the
 * health check, the digest): validated input and a started Procedure, no exits to own.
 */
export async function startProcedure<T extends InputTable>(spec: ProcedureSpec<T>, rawInput: unknown): Promise<{ p: Procedure; input: ArgsOf<T> }> {
  const input = parseInput(spec.name, spec.input, rawInput);
  return { p: await Procedure.start(spec.name, optionsOf(input)), input };
}

/**
 * Runs a procedure written in the template. `setup` receives the started Procedure and the
 * validated input and returns the body (its state lives in the closure or object it builds).
 */
export async function runProcedure<T extends InputTable, R extends object>(
  spec: ProcedureSpec<T>,
  rawInput: unknown,
  setup: (p: Procedure, input: ArgsOf<T>) => ProcedureBody<R>,
): Promise<R> {
  const input = parseInput(spec.name, spec.input, rawInput);
  const p = await Procedure.start(spec.name, optionsOf(input));
  const body = setup(p, input);
  p.bindFacts(body.result);
  try {
    await body.run();
    return body.result;
  } catch (err) {
    if (err instanceof AbortRequested) {
      await body.undo?.({ kind: 'aborted', actor: err.actor });
      if (body.aborted) await body.aborted(err.actor);
      else p.finish('aborted', 'Aborted.');
      return body.result;
    }
    if (err instanceof RollbackRequested && body.rolledBack) {
      await body.undo?.({ kind: 'rolled-back', actor: err.actor });
      await body.rolledBack(err.actor);
      return body.result;
    }
    const error = err as Error;
    await body.undo?.({ kind: 'failed', error });
    if (!spec.failure) throw err;
    p.finish('failed', `Failed: ${error.message}`);
    await body.failed?.(error);
    if (err instanceof ApplicationFailure) throw err;
    throw spec.failure(`${spec.name} ${p.workflowId} failed: ${error.message}`, spec.keepCause ? { cause: error } : {});
  } finally {
    await body.release?.();
  }
}
