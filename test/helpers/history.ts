// A workflow history as any reader of it sees it: every payload decoded to text, so a search for a
// secret finds it whatever encoding carried it.
import type { Client } from '@temporalio/client';

/**
 * The server's default workflow task timeout (tests start workflows without one): what each
 * workflow task that timed out on a loaded machine, before the worker answered, adds to a wait.
 */
const WORKFLOW_TASK_TIMEOUT_MS = 10_000;

/** Workflow tasks that timed out before the worker answered (each adds 3 events: timed out, scheduled, started). */
export function lostWorkflowTasks(events: readonly { workflowTaskTimedOutEventAttributes?: unknown }[]): number {
  return events.filter((e) => e.workflowTaskTimedOutEventAttributes).length;
}

/** What workflow tasks lost to load added to a run's time: their timeouts, counted in its history. */
export function lostTaskSlackMs(events: readonly { workflowTaskTimedOutEventAttributes?: unknown }[]): number {
  return lostWorkflowTasks(events) * WORKFLOW_TASK_TIMEOUT_MS;
}

/**
 * JSON of the history with payload bytes as UTF-8 text. Payload data arrives as Buffers, and
 * JSON.stringify turns a Buffer into {type: 'Buffer', data: [numbers]} before a replacer sees it,
 * so both shapes (and plain Uint8Arrays, and base64 strings from a JSON history) are decoded here.
 */
export function decodedHistory(history: unknown): string {
  return JSON.stringify(history, (k, v: unknown) => {
    if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
    if (v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
      return Buffer.from((v as { data: number[] }).data).toString('utf8');
    }
    if (typeof v === 'bigint') return String(v);
    if (k === 'data' && typeof v === 'string') return Buffer.from(v, 'base64').toString('utf8');
    return v;
  });
}

export async function fetchDecodedHistory(client: Client, workflowId: string): Promise<string> {
  return decodedHistory(await client.workflow.getHandle(workflowId).fetchHistory());
}
