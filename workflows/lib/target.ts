// Before any host step, a procedure that names its home (or host queue) has the worker serving that
// queue confirm it serves them (docs/safety.md#the-home-and-host-asked); otherwise it ends with
// WrongTarget naming both homes, and nothing was changed. No home (a schedule, the Web UI with `{}`):
// the home of the worker that serves the host queue.
import { ActivityFailure, ApplicationFailure, TimeoutFailure, proxyActivities } from '@temporalio/workflow';
import type { HostActivities } from '../../activities';
import { failure } from '../../src/workflow-safe/failures';
import { unservedQueueMessage } from '../../src/workflow-safe/host-queue';

/** `hostQueueTimeout`: how long the check waits for a worker to take it (none: as long as it takes). */
export async function confirmTarget(hostQueue: string, asked: { home?: string; hostQueue?: string }, hostQueueTimeout?: number): Promise<void> {
  // Only a named home is checked: a queue alone is served by the worker of that host or by none, and
  // a step no worker takes fails into the operator's decision after hostQueueTimeout (docs/procedures.md).
  if (asked.home === undefined) return;
  const acts = proxyActivities<HostActivities>({ taskQueue: hostQueue, startToCloseTimeout: '30s', scheduleToStartTimeout: hostQueueTimeout, retry: { maximumAttempts: 3 } });
  try {
    await acts.confirmTarget({ home: asked.home, hostQueue });
  } catch (err) {
    // The worker's refusal is the procedure's failure, as it said it.
    if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) throw err.cause;
    if (err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === 'SCHEDULE_TO_START') throw failure.WrongTarget(unservedQueueMessage(hostQueue));
    throw err;
  }
}
