// What the load benchmarks (bench/load.ts, bench/cluster.ts) measure the same way: latency
// percentiles, and the task timeouts found in each workflow's history (a worker that keeps up has none).
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

const { TimeoutType } = temporal.api.enums.v1;

export const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};

/** A duration for the benchmarks' tables. */
export const ms = (x: number) => `${x.toFixed(0)} ms`;

export const formatTimeouts = (byType: Record<string, number>) =>
  Object.entries(byType).map(([type, n]) => `${n} (${type})`).join(', ') || '0';

/** Counts task timeouts in each workflow's history (a few at a time: the dev server is one process). */
export async function timeouts(client: Client, ids: { workflowId: string; runId?: string }[]): Promise<{ workflowTask: Record<string, number>; activity: number }> {
  const found = { workflowTask: {} as Record<string, number>, activity: 0 };
  const queue = [...ids];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let next = queue.pop(); next; next = queue.pop()) {
        const history = await client.workflow.getHandle(next.workflowId, next.runId).fetchHistory();
        for (const e of history.events ?? []) {
          const wt = e.workflowTaskTimedOutEventAttributes;
          if (wt) {
            const type = TimeoutType[wt.timeoutType ?? 0]?.replace('TIMEOUT_TYPE_', '') ?? String(wt.timeoutType);
            found.workflowTask[type] = (found.workflowTask[type] ?? 0) + 1;
          }
          if (e.activityTaskTimedOutEventAttributes) found.activity++;
        }
      }
    }),
  );
  return found;
}
