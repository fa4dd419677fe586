// The Sheets client atlas-ops uses: googleapis pointed at `sheets.rootUrl`, service-account auth
// from the credentials file (read here, never passed through workflows), no auth for a loopback
// emulator, and every failure turned into a SheetsError whose type says what it means.
import fs from 'node:fs';
import path from 'node:path';
import type { sheets_v4 } from 'googleapis/build/src/apis/sheets';
import { sheetsModule, type JWT } from '../google-apis';
import type { AtlasConfig } from '../config';
import { requestBatches, type RangeWrite } from './batches';
import type { SheetsErrorType } from './error-types';
import { failure } from '../workflow-safe/failures';

export { OUTAGE_TYPES, type SheetsErrorType } from './error-types';

export class SheetsError extends Error {
  override name = 'SheetsError';
  constructor(
    readonly type: SheetsErrorType,
    message: string,
    readonly options: { status?: number; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
  }

  get retryable(): boolean {
    return !failure[this.type].nonRetryable;
  }
}

export const SHEETS_SCOPE = 'https://www.googleapis.com/auth/spreadsheets';

export function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host === '::1' || /^127\./.test(host);
  } catch {
    return false;
  }
}

export interface ServiceAccountKey {
  type: 'service_account';
  client_email: string;
  private_key: string;
}

/** The credentials file in effect: the configured one, else `<home>/config/sheets-credentials.json` when present. */
export function credentialsPath(config: AtlasConfig): string | undefined {
  if (config.sheets.credentials) return config.sheets.credentials;
  const fallback = path.join(config.home, 'config', 'sheets-credentials.json');
  return fs.existsSync(fallback) ? fallback : undefined;
}

/** Reads and checks a service-account key; the message says what is wrong and what to do, never the key. */
export function readServiceAccount(file: string): ServiceAccountKey {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable by this user' : `cannot be read (${code ?? (err as Error).message})`;
    throw new SheetsError(failure.SheetsCredentialsError.type, `sheets.credentials: ${file} ${why}. Put the service-account key there (mode 0600) or set ATLAS_SHEETS_CREDENTIALS.`);
  }
  let key: Partial<ServiceAccountKey>;
  try {
    key = JSON.parse(text) as Partial<ServiceAccountKey>;
  } catch {
    throw new SheetsError(failure.SheetsCredentialsError.type, `sheets.credentials: ${file} is not JSON. Download a new service-account key from the Google Cloud console.`);
  }
  if (key?.type !== 'service_account') {
    throw new SheetsError(failure.SheetsCredentialsError.type, `sheets.credentials: ${file} is not a service-account key (its "type" is ${JSON.stringify(key?.type ?? null)}). Use a service-account JSON key.`);
  }
  if (!key.client_email || !key.private_key) {
    throw new SheetsError(failure.SheetsCredentialsError.type, `sheets.credentials: ${file} lacks ${!key.client_email ? 'client_email' : 'private_key'}. Download a new service-account key.`);
  }
  return key as ServiceAccountKey;
}

function header(headers: unknown, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const v = (headers as Record<string, unknown>)[name];
  return v === undefined ? undefined : String(v);
}

/** Retry-After as seconds or an HTTP date, in ms. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Turns whatever googleapis threw into a SheetsError saying what the operator should do next. */
export function classify(err: unknown, what: string, spreadsheetId: string): SheetsError {
  if (err instanceof SheetsError) return err;
  const e = err as { status?: number; response?: { status?: number; headers?: unknown; data?: { error?: { message?: string } } }; message?: string; code?: unknown };
  const status = e.response?.status ?? e.status;
  const apiMessage = (e.response?.data?.error?.message ?? e.message ?? String(err)).replace(/\.+$/, '');
  const base = `${what}: ${apiMessage}`;
  const opts = { status, cause: err };
  const timedOut = [err, (err as { cause?: unknown })?.cause].some((x) => (x as { name?: string } | undefined)?.name === 'AbortError');
  switch (true) {
    case status === undefined && timedOut:
      return new SheetsError(failure.SheetsUnreachable.type, `${base}. The Sheets API did not answer within sheets.requestTimeout; retried with backoff. If it persists, check connectivity with \`atlas-ops doctor sheets\`.`, opts);
    case status === undefined:
      return new SheetsError(failure.SheetsUnreachable.type, `${base}. The Sheets API could not be reached or closed the connection (network, DNS or TLS); check connectivity with \`atlas-ops doctor sheets\`.`, opts);
    case status === 401:
      return new SheetsError(failure.SheetsAuthError.type, `${base}. The service account was refused: check or rotate the key (atlas-ops doctor sheets).`, opts);
    case status === 403:
      return new SheetsError(failure.SheetsPermissionError.type, `${base}. Share spreadsheet ${spreadsheetId} with the service account as Editor (atlas-ops doctor sheets --permissions).`, opts);
    case status === 404:
      return new SheetsError(failure.SheetsNotFoundError.type, `${base}. Spreadsheet ${spreadsheetId} does not exist: check sheets.spreadsheetId.`, opts);
    case status === 429:
      return new SheetsError(failure.SheetsRateLimited.type, `${base}. Rate limited by the Sheets API; retried after its Retry-After.`, { ...opts, retryAfterMs: retryAfterMs(header(e.response?.headers, 'retry-after')) });
    case status! >= 500:
      return new SheetsError(failure.SheetsUnavailable.type, `${base}. The Sheets API is failing (HTTP ${status}); retried with backoff.`, { ...opts, retryAfterMs: retryAfterMs(header(e.response?.headers, 'retry-after')) });
    default:
      return new SheetsError(failure.SheetsBadRequest.type, `${base} (HTTP ${status}). The Sheets API refused the request as invalid, so retrying will not help: check the spreadsheet's tabs and header rows with \`atlas-ops doctor sheets --permissions\`; if they are right, report this message with the run's log.`, opts);
  }
}

/** A 200 whose body is not the answer asked for: retryable, like a 5xx. */
function garbled(what: string, got: string): SheetsError {
  return new SheetsError(failure.SheetsUnavailable.type, `${what}: the Sheets API answered HTTP 200 with ${got}. Retried with backoff; if it persists, check what sits between this host and the API (a proxy?) with \`atlas-ops doctor sheets\`.`, { status: 200 });
}

export type Row = string[];

/**
 * The few calls sync needs, each counted: a run's request count goes into ops.db and the
 * emulator counts the same requests on its side.
 */
export class SheetsApi {
  requests = 0;

  constructor(
    private readonly api: sheets_v4.Sheets,
    readonly spreadsheetId: string,
    /** The service-account client; absent for a loopback emulator. */
    private readonly auth?: JWT,
  ) {}

  /** Gets an access token (test-sheets-auth); true when there is no auth to test (emulator). */
  async authorize(): Promise<boolean> {
    if (!this.auth) return false;
    this.requests++;
    try {
      await this.auth.authorize();
      return true;
    } catch (err) {
      const e = classify(err, 'service-account token', this.spreadsheetId);
      // The token endpoint answers a bad key with 400 invalid_grant: that is an auth failure too.
      throw e.type === failure.SheetsBadRequest.type ? new SheetsError(failure.SheetsAuthError.type, `${e.message} The service-account key was refused: check or rotate it.`, { cause: err }) : e;
    }
  }

  private async call<T>(what: string, fn: () => Promise<{ data: T }>): Promise<T> {
    this.requests++;
    let data: T;
    try {
      data = (await fn()).data;
    } catch (err) {
      throw classify(err, what, this.spreadsheetId);
    }
    // googleapis hands a 200 whose body does not parse over as a string: read as "no rows", it
    // would make export write over the sheet and import skip every decision.
    if (data === null || typeof data !== 'object') throw garbled(what, `a body that is not JSON (${JSON.stringify(String(data).slice(0, 40))}…)`);
    return data;
  }

  async tabs(): Promise<string[]> {
    const data = await this.call('spreadsheets.get', () =>
      this.api.spreadsheets.get({ spreadsheetId: this.spreadsheetId, fields: 'sheets.properties.title' }),
    );
    return (data.sheets ?? []).map((s) => s.properties?.title ?? '');
  }

  async addTabs(titles: string[]): Promise<void> {
    if (!titles.length) return;
    await this.call('spreadsheets.batchUpdate', () =>
      this.api.spreadsheets.batchUpdate({ spreadsheetId: this.spreadsheetId, requestBody: { requests: titles.map((title) => ({ addSheet: { properties: { title } } })) } }),
    );
  }

  /** Several ranges in one request; cells as the sheet shows them (strings), trailing empties left out. */
  async read(ranges: string[]): Promise<Row[][]> {
    const data = await this.call('values.batchGet', () =>
      this.api.spreadsheets.values.batchGet({ spreadsheetId: this.spreadsheetId, ranges, valueRenderOption: 'FORMATTED_VALUE', majorDimension: 'ROWS' }),
    );
    if (data.valueRanges?.length !== ranges.length) throw garbled('values.batchGet', `${data.valueRanges?.length ?? 'no'} ranges for the ${ranges.length} asked for`);
    return data.valueRanges.map((vr) => (vr.values ?? []).map((row) => row.map((c) => (c === null || c === undefined ? '' : String(c)))));
  }

  /**
   * Many ranges in as few requests as Google's payload limit allows (one for 10 000 approvals),
   * always RAW: text starting with = + - @ stays text (docs/safety.md#raw-cells).
   */
  async write(data: RangeWrite[]): Promise<number> {
    let cells = 0;
    for (const batch of requestBatches(data)) {
      const res = await this.call('values.batchUpdate', () =>
        this.api.spreadsheets.values.batchUpdate({ spreadsheetId: this.spreadsheetId, requestBody: { valueInputOption: 'RAW', data: batch } }),
      );
      cells += res.totalUpdatedCells ?? 0;
    }
    return cells;
  }
}

export interface ClientOptions {
  timeoutMs?: number;
}

/** Builds the client for this configuration; credentials are read here and stay in this process. */
export function sheetsApi(config: AtlasConfig, options: ClientOptions = {}): SheetsApi {
  if (!config.sheets.spreadsheetId) {
    throw new SheetsError(failure.SheetsConfigError.type, 'sheets.spreadsheetId is not set: set ATLAS_SHEETS_SPREADSHEET_ID (or sheets.spreadsheetId in atlas-ops.json).');
  }
  const { auth: googleAuth, sheets } = sheetsModule();
  const rootUrl = config.sheets.rootUrl.endsWith('/') ? config.sheets.rootUrl : `${config.sheets.rootUrl}/`;
  const keyFile = credentialsPath(config);
  // A configured key is always checked, so a broken one is reported even against the emulator.
  const key = keyFile ? readServiceAccount(keyFile) : undefined;
  let auth: JWT | undefined;
  if (!isLoopback(rootUrl)) {
    if (!key) {
      throw new SheetsError(failure.SheetsCredentialsError.type, `sheets.credentials: no service-account key configured for ${rootUrl}. Put it in <home>/config/sheets-credentials.json (mode 0600) or set ATLAS_SHEETS_CREDENTIALS.`);
    }
    auth = new googleAuth.JWT({ email: key.client_email, key: key.private_key, scopes: [SHEETS_SCOPE] });
  }
  // retry: false — retries belong to Temporal, which honours Retry-After and records each attempt.
  const api = sheets({ version: 'v4', rootUrl, auth, retry: false, timeout: options.timeoutMs ?? config.sheets.requestTimeout });
  return new SheetsApi(api, config.sheets.spreadsheetId, auth);
}
