// Starting procedures with the input type of the workflow itself, and starting a singleton
// procedure from code (alert remediation, outage detection, corruption auto-recovery): a fixed
// workflow id per Atlas instance keeps it to one at a time, and a second start while one runs
// returns the running one instead of failing.
import type { Client, WorkflowHandleWithStartDetails, WorkflowOptions } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import type { AtlasConfig } from '../config';
import { temporalClient } from './sdk';
import type * as workflows from '../../workflows';

/** Every workflow the worker registers, by its public type name (its export name). */
export type Workflows = typeof workflows;
export type WorkflowType = keyof Workflows;

/** What a workflow function takes: its one input parameter (every procedure also accepts none). */
export type WorkflowInput<W extends Workflow> = NonNullable<Parameters<W>[0]>;

/**
 * Starts a workflow by its registered name with that workflow's own input type, so that a start
 * cannot name a workflow that does not exist or give it input it does not take.
 */
export async function startWorkflow<T extends WorkflowType>(
  client: Client,
  workflowType: T,
  input: WorkflowInput<Workflows[T]>,
  options: WorkflowOptions,
): Promise<WorkflowHandleWithStartDetails<Workflows[T]>> {
  // The SDK checks `args` with a conditional type that a generic T leaves unresolved: the input
  // is checked by this function's signature instead, and the handle is the one of that workflow.
  const handle = await client.workflow.start(workflowType, { ...options, args: [input] });
  return handle as WorkflowHandleWithStartDetails<Workflows[T]>;
}

/** The fixed workflow id of a singleton procedure, e.g. `atlas-sheets-outage`. */
export function singletonId(config: Pick<AtlasConfig, 'scheduleIdPrefix'>, name: string): string {
  return `${config.scheduleIdPrefix}${name}`;
}

export interface StartedOnce {
  workflowId: string;
  /** False when one was already running and this call joined it. */
  started: boolean;
}

/**
 * Starts the singleton `name` running `workflowType`, or joins the one running. Give the workflow
 * function's type (`startOnce<typeof sheetsOutage>(…)`) to have the input checked against it; the
 * broad default serves a workflow type read from the configuration (remediation).
 */
export async function startOnce<W extends Workflow = Workflow>(
  client: Client,
  config: Pick<AtlasConfig, 'scheduleIdPrefix' | 'taskQueue'>,
  workflowType: string,
  name: string,
  input: WorkflowInput<W>,
  summary: string,
): Promise<StartedOnce> {
  const workflowId = singletonId(config, name);
  try {
    // The input was checked against W by this function's signature (the SDK's own check of
    // `args` is a conditional type that a generic W leaves unresolved).
    await client.workflow.start(workflowType, {
      taskQueue: config.taskQueue,
      workflowId,
      args: [input],
      staticSummary: summary,
      // A finished run does not block the next one; a running one does.
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      workflowIdConflictPolicy: 'FAIL',
    });
    return { workflowId, started: true };
  } catch (err) {
    if (err instanceof temporalClient().WorkflowExecutionAlreadyStartedError) return { workflowId, started: false };
    throw err;
  }
}
