// Whether a worker serves a task queue, from the server's record of who polls it (DescribeTaskQueue).
// The CLI refuses to start a procedure whose host queue nobody serves, and a procedure asks it (from
// the workflow queue) when its host step did not start. The server keeps a poller listed for a few
// minutes after the worker stopped, so "served" can be stale; "not served" is certain.
import type { Client } from '@temporalio/client';
import { temporalProto } from './sdk';

/** The identities of the workers polling `queue` for activity tasks (empty: no worker serves it). */
export async function activityPollers(client: Client, queue: string): Promise<string[]> {
  const { TaskQueueKind, TaskQueueType } = temporalProto().temporal.api.enums.v1;
  const answer = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: queue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  return (answer.pollers ?? []).map((p) => p.identity ?? '?');
}
