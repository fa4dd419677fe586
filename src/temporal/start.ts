// Starting a singleton procedure from code (alert remediation, outage detection, corruption
// auto-recovery): a fixed workflow id per Atlas instance keeps it to one at a time, and a second
// start while one runs returns the running one instead of failing.
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { AtlasConfig } from '../config';

/** The fixed workflow id of a singleton procedure, e.g. `atlas-sheets-outage`. */
export function singletonId(config: Pick<AtlasConfig, 'scheduleIdPrefix'>, name: string): string {
  return `${config.scheduleIdPrefix}${name}`;
}

export interface StartedOnce {
  workflowId: string;
  /** False when one was already running and this call joined it. */
  started: boolean;
}

export async function startOnce(
  client: Client,
  config: Pick<AtlasConfig, 'scheduleIdPrefix' | 'taskQueue'>,
  workflowType: string,
  name: string,
  input: Record<string, unknown>,
  summary: string,
): Promise<StartedOnce> {
  const workflowId = singletonId(config, name);
  try {
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
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { workflowId, started: false };
    throw err;
  }
}
