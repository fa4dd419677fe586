// One way to reach Temporal for the CLI, the dev stack and activities, with an error an operator
// can act on when nothing answers.
import { Client, Connection } from '@temporalio/client';
import type { AtlasConfig } from '../config';

export class TemporalUnreachableError extends Error {
  override name = 'TemporalUnreachableError';
}

export async function connectClient(config: Pick<AtlasConfig, 'temporal'>, timeoutMs = 5000): Promise<Client> {
  const { address, namespace } = config.temporal;
  let connection: Connection;
  try {
    connection = await Connection.connect({ address, connectTimeout: timeoutMs });
    // connect() is lazy about the namespace; a cheap call proves the server answers.
    await connection.workflowService.getSystemInfo({}, );
  } catch (err) {
    throw new TemporalUnreachableError(
      `cannot reach the Temporal server at ${address} (${(err as Error).message.split('\n')[0]}). ` +
        'Start one with `npm start` (atlas-ops dev), or point TEMPORAL_ADDRESS at a running server.',
    );
  }
  return new Client({ connection, namespace });
}

/** The Web UI page of a workflow, for the links the CLI prints. */
export function workflowUrl(config: Pick<AtlasConfig, 'temporal'>, workflowId: string, runId?: string): string {
  const base = config.temporal.uiUrl.replace(/\/$/, '');
  const ns = encodeURIComponent(config.temporal.namespace);
  return `${base}/namespaces/${ns}/workflows/${encodeURIComponent(workflowId)}${runId ? `/${runId}` : ''}`;
}
