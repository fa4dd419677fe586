// A local Sheets API v4 emulator: the REST paths atlas-ops' googleapis calls use, on 127.0.0.1
// only, with the real API's answers where they matter (errors in Google's JSON shape, trimmed
// trailing cells, RAW vs USER_ENTERED), fault injection and request counting.
//
// Admin endpoints (not counted as API requests) live under /__emulator/:
//   GET stats · POST stats/reset · GET faults · POST faults {kind, count, on, retryAfterSeconds, latencyMs}
//   DELETE faults · POST spreadsheets {id, title, tabs} · POST iam/keys {account}: a new key file
import http from 'node:http';
import { ApiError, badRequest, EmulatorStore, notFound, type InputOption, type RenderOption } from './store';
import { FAULT_ERRORS, FaultQueue, MALFORMED_BODY, parseFault, type ActiveFault, type FaultSpec } from './faults';
import { REQUEST_BYTES_MAX } from '../sheets/layout';
import { listenOn, listenOnPickedPort } from '../ports';
import { IamEmulator } from './iam';

export interface EmulatorStats {
  requests: number;
  reads: number;
  writes: number;
  faulted: number;
  byMethod: Record<string, number>;
  /** Time the emulator spent saving its state file (its own cost, not the client's). */
  persistMs: number;
}

type Counters = Omit<EmulatorStats, 'persistMs'>;
const freshCounters = (): Counters => ({ requests: 0, reads: 0, writes: 0, faulted: 0, byMethod: {} });

export interface SheetsEmulator {
  url: string;
  port: number;
  store: EmulatorStore;
  /** Service-account keys and the token endpoint (./iam.ts). */
  iam: IamEmulator;
  stats(): EmulatorStats;
  resetStats(): void;
  fault(spec: FaultSpec): void;
  clearFaults(): void;
  close(): Promise<void>;
}

const WRITES = new Set(['values.update', 'values.batchUpdate', 'values.append', 'values.clear', 'spreadsheets.batchUpdate', 'spreadsheets.create']);

/** The raw body as text (the token endpoint's form). */
function readText(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', reject);
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

/** The body as JSON; over `maxBytes` it is read to the end and refused, as Google does. */
function readBody(req: http.IncomingMessage, maxBytes = Infinity): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= maxBytes) chunks.push(c);
    });
    req.on('error', reject);
    req.on('end', () => {
      if (size > maxBytes) return reject(badRequest(`Request payload size exceeds the limit: ${maxBytes} bytes.`));
      const text = Buffer.concat(chunks).toString('utf8');
      if (!text) return resolve({});
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(badRequest('Invalid JSON payload received.'));
      }
    });
  });
}

function send(res: http.ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendError(res: http.ServerResponse, err: ApiError, headers: Record<string, string> = {}): void {
  send(res, err.code, { error: { code: err.code, message: err.message, status: err.status } }, headers);
}

function inputOption(value: unknown): InputOption {
  if (value === 'RAW' || value === 'USER_ENTERED') return value;
  if (value === undefined || value === null || value === '') throw badRequest("'valueInputOption' is required but not specified");
  throw badRequest(`Invalid value at 'value_input_option' (type.googleapis.com/google.apps.sheets.v4.ValueInputOption), "${String(value)}"`);
}

function renderOption(value: string | null): RenderOption {
  if (!value) return 'FORMATTED_VALUE';
  if (value === 'FORMATTED_VALUE' || value === 'UNFORMATTED_VALUE' || value === 'FORMULA') return value;
  throw badRequest(`Invalid value at 'value_render_option', "${value}"`);
}

/** Splits `/v4/spreadsheets/<id>[:verb]/values[/<range>][:verb]` (range still percent-encoded). */
function route(pathname: string): { id?: string; verb?: string; values: boolean; range?: string; rangeVerb?: string } | undefined {
  const m = /^\/v4\/spreadsheets(?:\/([^/:]+)(?::([A-Za-z]+))?(?:\/values(?::([A-Za-z]+)|\/([^/:]+)(?::([A-Za-z]+))?)?)?)?\/?$/.exec(pathname);
  if (!m) return undefined;
  const values = pathname.includes('/values');
  return {
    id: m[1] ? decodeURIComponent(m[1]) : undefined,
    verb: m[2] ?? m[3],
    values,
    range: m[4] ? decodeURIComponent(m[4]) : undefined,
    rangeVerb: m[5],
  };
}

export interface EmulatorOptions {
  /** The JSON state file (e.g. `<home>/sheets-emulator.json`). */
  file: string;
  /** 0 (default) picks a free port. */
  port?: number;
}

export async function startSheetsEmulator(options: EmulatorOptions): Promise<SheetsEmulator> {
  const store = new EmulatorStore(options.file);
  const faults = new FaultQueue();
  let baseUrl = '';
  const iam = new IamEmulator(iamStateFile(options.file), () => baseUrl);
  let stats = freshCounters();
  let persistBase = store.persistMs;
  const currentStats = (): EmulatorStats => ({ ...structuredClone(stats), persistMs: Math.round(store.persistMs - persistBase) });
  const resetStats = () => {
    stats = freshCounters();
    persistBase = store.persistMs;
  };

  const api = async (req: http.IncomingMessage, url: URL, body: unknown): Promise<{ method: string; result: unknown }> => {
    const r = route(url.pathname);
    if (!r) throw notFound();
    const b = (body ?? {}) as Record<string, unknown>;
    const verb = req.method ?? 'GET';
    if (!r.id) {
      if (verb !== 'POST') throw notFound();
      const props = (b.properties ?? {}) as { title?: string };
      const sheets = ((b.sheets ?? []) as { properties?: { title?: string } }[]).map((s) => s.properties?.title ?? 'Sheet1');
      const id = `emu-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
      return { method: 'spreadsheets.create', result: describe(store.createSpreadsheet(id, props.title ?? 'Untitled spreadsheet', sheets)) };
    }
    const id = r.id;
    if (!r.values) {
      if (verb === 'GET' && !r.verb) return { method: 'spreadsheets.get', result: describe(store.spreadsheet(id)) };
      if (verb === 'POST' && r.verb === 'batchUpdate') {
        const requests = (b.requests ?? []) as Record<string, { properties?: { title?: string } }>[];
        store.spreadsheet(id);
        const replies = requests.map((q, i) => {
          if (q.addSheet) {
            const title = q.addSheet.properties?.title;
            if (!title) throw badRequest(`Invalid requests[${i}].addSheet: a title is required`);
            const sheet = store.addSheet(id, title);
            return { addSheet: { properties: sheetProps(sheet, store.spreadsheet(id).sheets.indexOf(sheet)) } };
          }
          throw badRequest(`Invalid requests[${i}]: the emulator supports addSheet only`);
        });
        return { method: 'spreadsheets.batchUpdate', result: { spreadsheetId: id, replies } };
      }
      throw notFound();
    }
    if (r.verb === 'batchGet' && verb === 'GET') {
      const ranges = url.searchParams.getAll('ranges');
      const option = renderOption(url.searchParams.get('valueRenderOption'));
      store.spreadsheet(id);
      return { method: 'values.batchGet', result: { spreadsheetId: id, valueRanges: ranges.map((range) => store.read(id, range, option)) } };
    }
    if (r.verb === 'batchUpdate' && verb === 'POST') {
      const option = inputOption(b.valueInputOption);
      const data = (b.data ?? []) as { range?: string; values?: unknown[][] }[];
      store.spreadsheet(id);
      try {
        const responses = data.map((d, i) => {
          if (!d.range) throw badRequest(`Invalid data[${i}]: range is required`);
          return store.write(id, d.range, d.values ?? [], option, false);
        });
        store.save();
        return {
          method: 'values.batchUpdate',
          result: {
            spreadsheetId: id,
            totalUpdatedRows: responses.reduce((n, x) => n + x.updatedRows, 0),
            totalUpdatedColumns: Math.max(0, ...responses.map((x) => x.updatedColumns)),
            totalUpdatedCells: responses.reduce((n, x) => n + x.updatedCells, 0),
            totalUpdatedSheets: new Set(responses.map((x) => x.updatedRange.split('!')[0])).size,
            responses,
          },
        };
      } catch (err) {
        store.discard(); // a batch is all or nothing
        throw err;
      }
    }
    if (!r.range) throw notFound();
    if (!r.rangeVerb && verb === 'GET') return { method: 'values.get', result: store.read(id, r.range, renderOption(url.searchParams.get('valueRenderOption'))) };
    if (!r.rangeVerb && verb === 'PUT') {
      return { method: 'values.update', result: store.write(id, r.range, (b.values ?? []) as unknown[][], inputOption(url.searchParams.get('valueInputOption'))) };
    }
    if (r.rangeVerb === 'append' && verb === 'POST') {
      return { method: 'values.append', result: store.append(id, r.range, (b.values ?? []) as unknown[][], inputOption(url.searchParams.get('valueInputOption'))) };
    }
    if (r.rangeVerb === 'clear' && verb === 'POST') return { method: 'values.clear', result: store.clear(id, r.range) };
    throw notFound();
  };

  /**
   * True when the fault answered the call (or dropped it); false when the call goes on: after a
   * delay (latency), or to a reply that is cut off (partial) or never sent (lost-reply).
   */
  const applyFault = async (f: ActiveFault, res: http.ServerResponse): Promise<boolean> => {
    stats.faulted++;
    switch (f.kind) {
      case 'latency':
        await new Promise((r) => setTimeout(r, f.latencyMs));
        return false;
      case 'reset':
        res.socket?.destroy();
        return true;
      case 'malformed':
        res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(MALFORMED_BODY) });
        res.end(MALFORMED_BODY);
        return true;
      case 'lost-reply':
        // Headers are only sent with the first body bytes: closing at end() sends nothing.
        res.end = (() => {
          res.socket?.destroy();
          return res;
        }) as typeof res.end;
        return false;
      case 'partial': {
        const write = res.write.bind(res) as (chunk: Buffer, cb: () => void) => boolean;
        res.end = ((chunk?: string | Buffer) => {
          const body = Buffer.from(chunk ?? '');
          write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.destroy());
          return res;
        }) as typeof res.end;
        return false;
      }
      default: {
        const retryAfter = f.retryAfterSeconds ?? (f.kind === 429 ? 1 : undefined);
        const { status, message } = FAULT_ERRORS[f.kind];
        sendError(res, new ApiError(f.kind, status, message), retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) });
        return true;
      }
    }
  };

  const admin = async (req: http.IncomingMessage, url: URL, res: http.ServerResponse): Promise<void> => {
    const what = url.pathname.slice('/__emulator/'.length);
    if (what === 'stats' && req.method === 'GET') return send(res, 200, currentStats());
    if (what === 'stats/reset' && req.method === 'POST') {
      resetStats();
      return send(res, 200, currentStats());
    }
    if (what === 'faults' && req.method === 'GET') return send(res, 200, { faults: faults.list() });
    if (what === 'faults' && req.method === 'DELETE') {
      faults.clear();
      return send(res, 200, { faults: [] });
    }
    if (what === 'faults' && req.method === 'POST') {
      try {
        faults.add(parseFault(await readBody(req)));
      } catch (err) {
        return sendError(res, badRequest((err as Error).message));
      }
      return send(res, 200, { faults: faults.list() });
    }
    if (what === 'iam/keys' && req.method === 'POST') {
      const b = (await readBody(req)) as { account?: string };
      if (!b.account || !/^[^@\s]+@[^@\s]+$/.test(b.account)) return sendError(res, badRequest(`account: ${JSON.stringify(b.account ?? null)} is not a service-account email`));
      return send(res, 200, iam.issueKey(b.account));
    }
    if (what === 'spreadsheets' && req.method === 'POST') {
      const b = (await readBody(req)) as { id?: string; title?: string; tabs?: string[] };
      if (!b.id) return sendError(res, badRequest('id: required'));
      return send(res, 200, describe(store.createSpreadsheet(b.id, b.title ?? b.id, b.tabs ?? [])));
    }
    sendError(res, notFound());
  };

  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      try {
        store.refresh();
        if (url.pathname.startsWith('/__emulator/')) return await admin(req, url, res);
        // IAM and the token endpoint: not Sheets requests, so neither counted nor faulted with them.
        if (url.pathname === '/token' && req.method === 'POST') {
          const reply = iam.token(new URLSearchParams(await readText(req)));
          return send(res, reply.status, reply.body);
        }
        if (url.pathname.startsWith('/v1/')) {
          await readText(req);
          const reply = iam.api(req.method ?? 'GET', url.pathname, req.headers.authorization);
          if (!reply) throw notFound();
          return send(res, reply.status, reply.body);
        }
        // A request for a spreadsheet this emulator does not hold is someone else's (a client of an
        // emulator that had this port before): answered 404, and neither counted nor faulted, so it
        // cannot use up a fault meant for this emulator's own client.
        const addressed = route(url.pathname)?.id;
        if (addressed !== undefined && !store.list().some((x) => x.spreadsheetId === addressed)) throw notFound();
        stats.requests++;
        const fault = faults.take(req.method === 'GET' ? 'read' : 'write');
        if (fault && (await applyFault(fault, res))) return;
        const body = req.method === 'GET' ? {} : await readBody(req, REQUEST_BYTES_MAX);
        const { method, result } = await api(req, url, body);
        stats.byMethod[method] = (stats.byMethod[method] ?? 0) + 1;
        if (WRITES.has(method)) stats.writes++;
        else stats.reads++;
        send(res, 200, result);
      } catch (err) {
        if (err instanceof ApiError) sendError(res, err);
        else sendError(res, new ApiError(500, 'INTERNAL', `emulator: ${(err as Error).message}`));
      }
    })();
  });
  // No server-side timers on connections. The store saves its whole state after each write, and a
  // client in this same process (tests, benchmarks) may compute for a minute between requests at a
  // million rows: a keep-alive, header or request timer that fires in that gap closes the socket
  // just as the next request arrives on it, and the client sees ECONNRESET. A loopback emulator
  // needs no protection from slow clients.
  server.keepAliveTimeout = 0;
  server.headersTimeout = 0;
  server.requestTimeout = 0;
  // Loopback only (docs/safety.md#loopback-only). Port 0 (or none): one picked below the ephemeral
  // range (src/ports.ts); a named one is used as is.
  const port = options.port ? await listenOn(server, options.port) : await listenOnPickedPort(server);
  baseUrl = `http://127.0.0.1:${port}/`;
  return {
    url: baseUrl,
    port,
    store,
    iam,
    stats: currentStats,
    resetStats,
    fault: (spec) => faults.add(spec),
    clearFaults: () => faults.clear(),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The IAM emulator's public keys, beside the Sheets state file. */
export function iamStateFile(sheetsStateFile: string): string {
  return sheetsStateFile.replace(/(\.json)?$/, '.iam.json');
}

function sheetProps(sheet: { sheetId: number; title: string; rows: unknown[][] }, index: number) {
  return {
    sheetId: sheet.sheetId,
    title: sheet.title,
    index,
    sheetType: 'GRID',
    gridProperties: { rowCount: Math.max(1000, sheet.rows.length), columnCount: Math.max(26, ...sheet.rows.map((r) => r.length)) },
  };
}

function describe(s: { spreadsheetId: string; title: string; sheets: { sheetId: number; title: string; rows: unknown[][] }[] }) {
  return {
    spreadsheetId: s.spreadsheetId,
    properties: { title: s.title, locale: 'en_US', timeZone: 'Etc/GMT' },
    sheets: s.sheets.map((sheet, i) => ({ properties: sheetProps(sheet, i) })),
    spreadsheetUrl: `http://127.0.0.1/emulator/${s.spreadsheetId}`,
  };
}
