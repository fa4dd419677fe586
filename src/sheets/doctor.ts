// test-sheets-auth and test-sheets-permissions: DNS, TCP, HTTPS, auth, the spreadsheet, and (with
// permissions) a read of the Approvals header and a write of an unchanged cell. Stops at the first
// failing part and says which it was, so the outage procedure can record it.
import dns from 'node:dns/promises';
import fs from 'node:fs';
import net from 'node:net';
import type { AtlasConfig } from '../config';
import { SheetsError, sheetsApi, credentialsPath } from './client';
import { STATUS_LABELS, TAB } from './layout';

export type CheckName = 'dns' | 'tcp' | 'https' | 'auth' | 'spreadsheet' | 'read' | 'write';

export interface Check {
  name: CheckName;
  ok: boolean;
  detail: string;
  ms: number;
}

export interface ConnectivityReport {
  ok: boolean;
  /** The first part that failed. */
  failed?: CheckName;
  errorType?: string;
  checks: Check[];
}

function tcp(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}

export async function checkConnectivity(config: AtlasConfig, options: { permissions?: boolean; timeoutMs?: number } = {}): Promise<ConnectivityReport> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const url = new URL(config.sheets.rootUrl);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const checks: Check[] = [];
  let errorType: string | undefined;
  const step = async (name: CheckName, fn: () => Promise<string>): Promise<boolean> => {
    const started = performance.now();
    try {
      checks.push({ name, ok: true, detail: await fn(), ms: Math.round(performance.now() - started) });
      return true;
    } catch (err) {
      errorType = err instanceof SheetsError ? err.type : undefined;
      checks.push({ name, ok: false, detail: (err as Error).message, ms: Math.round(performance.now() - started) });
      return false;
    }
  };
  const api = () => sheetsApi(config, { timeoutMs });
  const ok =
    (await step('dns', async () => (net.isIP(host) ? `${host} is an address` : `${host} → ${(await dns.lookup(host)).address}`))) &&
    (await step('tcp', async () => {
      await tcp(host, port, timeoutMs);
      return `${host}:${port} accepts connections`;
    })) &&
    (await step('https', async () => {
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      return `${url.protocol.replace(':', '').toUpperCase()} answers (HTTP ${res.status})`;
    })) &&
    (await step('auth', async () => {
      const tokened = await api().authorize(); // reads and checks the key, then gets a token
      const key = credentialsPath(config);
      const mode = key ? fs.statSync(key).mode & 0o777 : 0;
      const loose = mode & 0o077 ? ` — WARNING: ${key} has mode ${mode.toString(8)}; run chmod 600 ${key}` : '';
      return (tokened ? `service-account key ${key} accepted (token issued)` : `loopback emulator: no auth${key ? ` (key ${key} is a valid service-account key)` : ''}`) + loose;
    })) &&
    (await step('spreadsheet', async () => `spreadsheet ${config.sheets.spreadsheetId} has tabs ${(await api().tabs()).join(', ')}`)) &&
    (!options.permissions ||
      ((await step('read', async () => {
        const [rows] = await api().read([`${TAB.approvals}!A1:J1`]);
        return `read ${TAB.approvals} header (${rows?.[0]?.length ?? 0} columns)`;
      })) &&
        (await step('write', async () => {
          // Writes the Status title cell with the value it should hold anyway.
          await api().write([{ range: `${TAB.status}!A1`, values: [[STATUS_LABELS[0]]] }]);
          return `wrote ${TAB.status}!A1`;
        }))));
  const failed = checks.find((c) => !c.ok);
  return { ok, ...(failed ? { failed: failed.name } : {}), ...(errorType ? { errorType } : {}), checks };
}
