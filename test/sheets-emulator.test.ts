// The emulator answers googleapis as the real Sheets API does where atlas-ops depends on it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { google, type sheets_v4 } from 'googleapis';
import { startHomeEmulator, startSheetsEmulator, type SheetsEmulator } from '../src/sheets-emulator';
import { runCli } from './helpers/env';
import { columnLetters, parseA1 } from '../src/sheets-emulator/a1';
import { parseFault } from '../src/sheets-emulator/faults';
import { EmulatorStore } from '../src/sheets-emulator/store';
import { REQUEST_BYTES_MAX } from '../src/sheets/layout';

let dir: string;
let emu: SheetsEmulator;
let api: sheets_v4.Sheets;
const ID = 'emu-test';

async function failure(p: Promise<unknown>): Promise<{ status?: number; data?: unknown; headers?: Headers; code?: unknown }> {
  const err = (await p.then(() => undefined, (e: unknown) => e)) as { status?: number; response?: { status: number; data: unknown; headers: Headers }; code?: unknown } | undefined;
  expect(err).toBeDefined();
  return { status: err!.response?.status, data: err!.response?.data, headers: err!.response?.headers, code: err!.code };
}

describe('sheets emulator', () => {
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sheets-emu-'));
    emu = await startSheetsEmulator({ file: path.join(dir, 'state.json') });
    emu.store.createSpreadsheet(ID, 'test', ['Approvals', "Bob's tab", 'Status']);
    api = google.sheets({ version: 'v4', rootUrl: emu.url, retry: false });
  });
  afterAll(async () => {
    await emu.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('parses A1 ranges, quoted names included', () => {
    expect(parseA1("'Bob''s tab'!B2:C")).toEqual({ sheet: "Bob's tab", startRow: 1, startCol: 1, endRow: Infinity, endCol: 3 });
    expect(parseA1('Approvals!A:J')).toMatchObject({ sheet: 'Approvals', startRow: 0, endRow: Infinity, startCol: 0, endCol: 10 });
    expect(parseA1('Status')).toMatchObject({ sheet: 'Status', endRow: Infinity });
    expect(parseA1('A1:B2')).toMatchObject({ sheet: undefined, endRow: 2, endCol: 2 });
    expect(parseA1('Tasks!3:5')).toMatchObject({ startRow: 2, endRow: 5, startCol: 0, endCol: Infinity });
    expect(() => parseA1("'unterminated!A1")).toThrow(/unterminated/);
    expect([0, 25, 26, 701, 702].map(columnLetters)).toEqual(['A', 'Z', 'AA', 'ZZ', 'AAA']);
  });

  it('listens on 127.0.0.1 only', () => {
    expect(emu.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it('serves get, update, batchGet, batchUpdate, append and clear, leaving out trailing empties', async () => {
    const meta = await api.spreadsheets.get({ spreadsheetId: ID });
    expect(meta.data.sheets?.map((x) => x.properties?.title)).toEqual(['Approvals', "Bob's tab", 'Status']);
    await api.spreadsheets.values.update({ spreadsheetId: ID, range: "'Bob''s tab'!A1:C3", valueInputOption: 'RAW', requestBody: { values: [['a', '', ''], ['b', 'c', ''], ['', '', '']] } });
    const got = await api.spreadsheets.values.get({ spreadsheetId: ID, range: "'Bob''s tab'!A:C" });
    expect(got.data.values).toEqual([['a'], ['b', 'c']]);
    expect(got.data.range).toBe("'Bob''s tab'!A1:C2");
    await api.spreadsheets.values.append({ spreadsheetId: ID, range: "'Bob''s tab'!A:C", valueInputOption: 'RAW', requestBody: { values: [['d', 'e']] } });
    const batch = await api.spreadsheets.values.batchGet({ spreadsheetId: ID, ranges: ["'Bob''s tab'!A3:C", 'Status!A1'] });
    expect(batch.data.valueRanges?.map((v) => v.values)).toEqual([[['d', 'e']], undefined]);
    await api.spreadsheets.values.batchUpdate({ spreadsheetId: ID, requestBody: { valueInputOption: 'USER_ENTERED', data: [{ range: 'Status!A1:C1', values: [['=A2', '42', "'=text"]] }] } });
    expect(emu.store.sheetRows(ID, 'Status')[0]).toEqual([{ f: '=A2' }, 42, '=text']);
    const unformatted = await api.spreadsheets.values.get({ spreadsheetId: ID, range: 'Status!B1', valueRenderOption: 'UNFORMATTED_VALUE' });
    expect(unformatted.data.values).toEqual([[42]]);
    await api.spreadsheets.values.clear({ spreadsheetId: ID, range: 'Status!A1:C1' });
    expect((await api.spreadsheets.values.get({ spreadsheetId: ID, range: 'Status' })).data.values).toBeUndefined();
    const added = await api.spreadsheets.batchUpdate({ spreadsheetId: ID, requestBody: { requests: [{ addSheet: { properties: { title: 'Tasks' } } }] } });
    expect(added.data.replies?.[0]?.addSheet?.properties?.title).toBe('Tasks');
    // The state is in the file: a second store (the CLI) sees it.
    expect(new EmulatorStore(path.join(dir, 'state.json')).sheetRows(ID, "Bob's tab")[2]?.slice(0, 2)).toEqual(['d', 'e']);
  });

  it('answers errors in Google\'s JSON shape', async () => {
    const missing = await failure(api.spreadsheets.values.get({ spreadsheetId: 'nope', range: 'A1' }));
    expect(missing.status).toBe(404);
    expect(missing.data).toEqual({ error: { code: 404, message: 'Requested entity was not found.', status: 'NOT_FOUND' } });
    const bad = await failure(api.spreadsheets.values.get({ spreadsheetId: ID, range: 'NoTab!A1' }));
    expect(bad.data).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT', message: 'Unable to parse range: NoTab!A1' } });
    const noOption = await failure(api.spreadsheets.values.update({ spreadsheetId: ID, range: 'Status!A1', requestBody: { values: [['x']] } }));
    expect(noOption.data).toMatchObject({ error: { message: "'valueInputOption' is required but not specified" } });
  });

  it('refuses a request body over 10 MiB as Google does, and changes nothing', async () => {
    const before = emu.store.sheetRows(ID, 'Approvals').length;
    const row = ['x'.repeat(45_000)];
    const values = Array.from({ length: 240 }, () => row); // about 10.8 MB of JSON
    const tooBig = await failure(api.spreadsheets.values.update({ spreadsheetId: ID, range: 'Approvals!A1:A240', valueInputOption: 'RAW', requestBody: { values } }));
    expect(tooBig.status).toBe(400);
    expect(tooBig.data).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT', message: `Request payload size exceeds the limit: ${REQUEST_BYTES_MAX} bytes.` } });
    expect(emu.store.sheetRows(ID, 'Approvals')).toHaveLength(before);
    // Just under the limit is fine.
    const fits = await api.spreadsheets.values.update({ spreadsheetId: ID, range: 'Approvals!A1:A200', valueInputOption: 'RAW', requestBody: { values: values.slice(0, 200) } });
    expect(fits.data.updatedRows).toBe(200);
    await api.spreadsheets.values.clear({ spreadsheetId: ID, range: 'Approvals' });
  });

  it('injects faults for the next N calls and counts requests', async () => {
    emu.resetStats();
    emu.fault({ kind: 429, retryAfterSeconds: 7 });
    emu.fault({ kind: 401, count: 2 });
    emu.fault({ kind: 'reset' });
    const limited = await failure(api.spreadsheets.get({ spreadsheetId: ID }));
    expect(limited.status).toBe(429);
    expect(limited.headers?.get('retry-after')).toBe('7');
    expect(limited.data).toMatchObject({ error: { status: 'RESOURCE_EXHAUSTED' } });
    expect((await failure(api.spreadsheets.get({ spreadsheetId: ID }))).status).toBe(401);
    expect((await failure(api.spreadsheets.get({ spreadsheetId: ID }))).status).toBe(401);
    const reset = await failure(api.spreadsheets.get({ spreadsheetId: ID }));
    expect(reset.status).toBeUndefined();
    expect((await api.spreadsheets.get({ spreadsheetId: ID })).status).toBe(200);
    // Run-time faults over the admin endpoint, validated.
    const res = await fetch(`${emu.url}__emulator/faults`, { method: 'POST', body: JSON.stringify({ kind: 503, count: 'always' }) });
    expect(res.status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await failure(api.spreadsheets.get({ spreadsheetId: ID }))).status).toBe(503);
    await fetch(`${emu.url}__emulator/faults`, { method: 'DELETE' });
    expect((await api.spreadsheets.get({ spreadsheetId: ID })).status).toBe(200);
    const stats = (await (await fetch(`${emu.url}__emulator/stats`)).json()) as { requests: number; faulted: number };
    expect(stats).toMatchObject({ requests: 9, faulted: 7 });
    const refused = await fetch(`${emu.url}__emulator/faults`, { method: 'POST', body: JSON.stringify({ kind: 418 }) });
    expect(refused.status).toBe(400);
    expect(() => parseFault({ kind: 'latency' })).toThrow(/latencyMs: required/);
    expect(() => parseFault({ kind: 500, count: 0 })).toThrow(/count/);
  });

  it('a request for a spreadsheet it does not hold (a stray client of an earlier emulator on this port) gets 404 and uses up no fault', async () => {
    emu.clearFaults();
    emu.resetStats();
    emu.fault({ kind: 429 });
    expect((await failure(api.spreadsheets.get({ spreadsheetId: 'someone-elses' }))).status).toBe(404);
    expect(emu.stats()).toMatchObject({ requests: 0, faulted: 0 });
    // The fault is still there for this emulator's own client.
    expect((await failure(api.spreadsheets.get({ spreadsheetId: ID }))).status).toBe(429);
    expect(emu.stats()).toMatchObject({ requests: 1, faulted: 1 });
  });

  it('400/502/504, malformed and cut-off replies, replies lost after the write is applied, faults on reads or writes only', async () => {
    const cell = () => emu.store.sheetRows(ID, 'Status')[0]?.[0];
    const put = (value: string) => api.spreadsheets.values.update({ spreadsheetId: ID, range: 'Status!A1', valueInputOption: 'RAW', requestBody: { values: [[value]] } });
    const get = () => api.spreadsheets.values.get({ spreadsheetId: ID, range: 'Status!A1' });
    await put('before');
    emu.resetStats();
    for (const kind of [400, 502, 504] as const) {
      emu.fault({ kind });
      const f = await failure(put(`after ${kind}`));
      expect(f.status).toBe(kind);
      expect(f.data).toMatchObject({ error: { code: kind } });
    }
    // 5xx carry a Retry-After only when one is set.
    emu.fault({ kind: 503, retryAfterSeconds: 0.5 });
    expect((await failure(get())).headers?.get('retry-after')).toBe('0.5');
    expect(cell()).toBe('before');
    // malformed: 200 OK, a body that is not JSON, nothing applied.
    emu.fault({ kind: 'malformed' });
    const garbled = await put('after malformed');
    expect(garbled.status).toBe(200);
    expect(typeof garbled.data).toBe('string');
    expect(() => JSON.parse(garbled.data as unknown as string)).toThrow();
    expect(cell()).toBe('before');
    // partial: applied, then half the body under the full Content-Length, then closed.
    emu.fault({ kind: 'partial' });
    const cut = await failure(put('after partial'));
    expect(cut.status).toBeUndefined();
    expect(cell()).toBe('after partial');
    // lost-reply: applied, then closed before any reply.
    emu.fault({ kind: 'lost-reply' });
    const lost = await failure(put('after lost-reply'));
    expect(lost.status).toBeUndefined();
    expect(cell()).toBe('after lost-reply');
    // on: writes only — reads pass untouched while the write fault waits for the next write.
    emu.fault({ kind: 503, on: 'write', count: Infinity });
    expect((await get()).status).toBe(200);
    expect((await failure(put('blocked'))).status).toBe(503);
    expect((await get()).data.values).toEqual([['after lost-reply']]);
    emu.clearFaults();
    expect(emu.stats()).toMatchObject({ faulted: 8 });
    expect(() => parseFault({ kind: 'partial', on: 'sometimes' })).toThrow(/^on: "sometimes" is not one of read, write, any/);
    expect(() => parseFault({ kind: 'reset', retryAfterSeconds: 1 })).toThrow(/^retryAfterSeconds: only 429 and 5xx/);
    expect(parseFault({ kind: 'lost-reply', on: 'write', count: 'always' })).toEqual({ kind: 'lost-reply', on: 'write', count: Infinity });
  });
});

describe('atlas-ops sheets-emulator', () => {
  it('show, set (as a person types), fault and stats against a running emulator', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'sheets-emu-home-'));
    const server = await startHomeEmulator(home, { spreadsheetId: 'cli-sheet' });
    try {
      const env = { ATLAS_HOME: home };
      const set = await runCli(undefined, ['sheets-emulator', 'set', 'Approvals!G2', 'approve'], env);
      expect(set.code).toBe(0);
      expect(set.stdout).toMatch(/Approvals!G2 = "approve"/);
      await runCli(undefined, ['sheets-emulator', 'set', "'Approvals'!A2", '=1+1'], env);
      // The running server sees what the CLI wrote to the state file.
      const api = google.sheets({ version: 'v4', rootUrl: server.url, retry: false });
      const got = await api.spreadsheets.values.get({ spreadsheetId: 'cli-sheet', range: 'Approvals!A2:G2', valueRenderOption: 'FORMULA' });
      expect(got.data.values).toEqual([['=1+1', '', '', '', '', '', 'approve']]);
      const show = await runCli(undefined, ['sheets-emulator', 'show'], env);
      expect(show.stdout).toMatch(/2 {2}=1\+1 \| {2}\| {2}\| {2}\| {2}\| {2}\| approve/);
      const bad = await runCli(undefined, ['sheets-emulator', 'set', 'Nope!A1', 'x'], env);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/Unable to parse range: Nope!A1/);
      // Faults reach the running emulator through the URL it left under run/.
      const fault = await runCli(undefined, ['sheets-emulator', 'fault', '503', '--count', '2'], env);
      expect(fault.code).toBe(0);
      expect((await failure(api.spreadsheets.get({ spreadsheetId: 'cli-sheet' }))).status).toBe(503);
      const refused = await runCli(undefined, ['sheets-emulator', 'fault', '418'], env);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/kind: "418" is not one of 400, .*, lost-reply/);
      const lost = await runCli(undefined, ['sheets-emulator', 'fault', 'lost-reply', '--on', 'write'], env);
      expect(lost.stdout).toMatch(/fault set: lost-reply for 1 write call\(s\)/);
      await runCli(undefined, ['sheets-emulator', 'fault', 'clear'], env);
      const stats = await runCli(undefined, ['--json', 'sheets-emulator', 'stats'], env);
      expect(JSON.parse(stats.stdout)).toMatchObject({ faulted: 1 });
    } finally {
      await server.close();
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
