// One way to reach Temporal for the CLI, the dev stack and activities, with an error an operator
// can act on when nothing answers.
import fs from 'node:fs';
import type { Client, Connection, TLSConfig } from '@temporalio/client';
import { ConfigError, type AtlasConfig } from '../config';
import { temporalClient } from './sdk';

export class TemporalUnreachableError extends Error {
  override name = 'TemporalUnreachableError';
}

/** Address, TLS and API key for a client or worker connection. Secrets come from files, by path. */
export interface ConnectionSettings {
  address: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
}

function readSecret(field: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    // The path is configuration, not a secret: naming it tells the operator what to fix.
    throw new ConfigError([`${field}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`]);
  }
}

export function connectionSettings(config: Pick<AtlasConfig, 'temporal'>): ConnectionSettings {
  const t = config.temporal;
  const settings: ConnectionSettings = { address: t.address };
  if (t.apiKeyFile) {
    const key = readSecret('temporal.apiKeyFile', t.apiKeyFile).toString('utf8').trim();
    if (!key) throw new ConfigError([`temporal.apiKeyFile: ${t.apiKeyFile} is empty`]);
    settings.apiKey = key;
  }
  const wantTls = t.tls === 'on' || (t.tls === 'auto' && Boolean(t.tlsCert || t.tlsCa || t.apiKeyFile));
  if (wantTls) {
    const tls: TLSConfig = {};
    if (t.tlsServerName) tls.serverNameOverride = t.tlsServerName;
    if (t.tlsCa) tls.serverRootCACertificate = readSecret('temporal.tlsCa', t.tlsCa);
    if (t.tlsCert) tls.clientCertPair = { crt: readSecret('temporal.tlsCert', t.tlsCert), key: readSecret('temporal.tlsKey', t.tlsKey) };
    settings.tls = Object.keys(tls).length ? tls : true;
  }
  return settings;
}

export async function connectClient(config: Pick<AtlasConfig, 'temporal'>, timeoutMs = 5000): Promise<Client> {
  const { address, namespace } = config.temporal;
  const settings = connectionSettings(config);
  let connection: Connection;
  try {
    connection = await temporalClient().Connection.connect({ ...settings, connectTimeout: timeoutMs });
    // connect() is lazy about the namespace; a cheap call proves the server answers.
    await connection.workflowService.getSystemInfo({}, );
  } catch (err) {
    throw new TemporalUnreachableError(
      `cannot reach the Temporal server at ${address} (${(err as Error).message.split('\n')[0]}). ` +
        (settings.tls ? `${tlsInUse(config.temporal)} ` : '') +
        'Start one with `npm start` (atlas-ops dev), or point TEMPORAL_ADDRESS at a running server.',
    );
  }
  return new (temporalClient().Client)({ connection, namespace });
}

/**
 * The TLS files a failed connection used, by path: a handshake the server refused (wrong CA, no
 * client certificate) says only "connection closed", so the operator needs to know what to check.
 */
function tlsInUse(t: AtlasConfig['temporal']): string {
  const ca = t.tlsCa ? `the server's CA from temporal.tlsCa (${t.tlsCa})` : "the system's trusted CAs (temporal.tlsCa is not set)";
  const cert = t.tlsCert
    ? `client certificate temporal.tlsCert (${t.tlsCert}) with key temporal.tlsKey (${t.tlsKey})`
    : 'no client certificate (set temporal.tlsCert and temporal.tlsKey if the server requires mutual TLS)';
  return `TLS was on: check that ${ca} signed the server's certificate${t.tlsServerName ? ` for ${t.tlsServerName}` : ''}, and ${cert} is one the server accepts.`;
}

/** The Web UI page of a workflow, for the links the CLI prints. */
export function workflowUrl(config: Pick<AtlasConfig, 'temporal'>, workflowId: string, runId?: string): string {
  const base = config.temporal.uiUrl.replace(/\/$/, '');
  const ns = encodeURIComponent(config.temporal.namespace);
  return `${base}/namespaces/${ns}/workflows/${encodeURIComponent(workflowId)}${runId ? `/${runId}` : ''}`;
}
