// Fault suite, the Sheets API: every fault kind the emulator knows (src/sheets-emulator/faults.ts),
// met by the real sheetsExport and sheetsImport workflows, started with {} on a worker as the
// schedules start them.
//
// - transient: retryable kinds (429, 5xx, timeout, reset, malformed, partial, lost-reply) fail the
//   run's first read and first write once each; the run must complete after retries, with every
//   decision applied exactly once (a second import changes no decided_at), the sheet as a
//   fault-free export leaves it, and no human cell (G–I) lost. Non-retryable kinds (400, 401, 403,
//   404) fail the first call once; the run must fail at once with a typed failure that says what
//   to do, atlas.db the same byte for byte and the sheet unchanged; then a normal run applies
//   everything once.
// - persistent: every call fails until cleared. Retryable kinds give up after the retry policy's
//   attempts with the same guarantees as a non-retryable failure, then a normal run catches up.
// - partial and lost-reply on every write: the write is applied each time and its reply never
//   arrives; the retry must find nothing left to do and complete.
//
// Each case has its own Atlas home, emulator and worker. Most of a case is waiting for retries, so
// the cases run side by side, more of them than vitest's five concurrent tests, longest first.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { SyncRunResult } from '../../activities/sheets';
import { openDatabase } from '../../src/db/sqlite';
import { atlasPaths } from '../../src/paths';
import { emulatorStateFile, startSheetsEmulator } from '../../src/sheets-emulator';
import type { FaultKind, FaultSpec } from '../../src/sheets-emulator/faults';
import type { Cell } from '../../src/sheets-emulator/store';
import { sheetsApi, type SheetsErrorType } from '../../src/sheets/client';
import { COL, STATUS_ROWS, TAB, TABS } from '../../src/sheets/layout';
import { exportApprovals } from '../../src/sheets/sync';
import { SYNC_RETRY } from '../../workflows/sheets-sync';
import { startAtlas } from '../helpers/atlas';
import { uid, type TestEnv } from '../helpers/env';
import { pendingApprovals, type SheetsFixture } from '../helpers/sheets';
import { recordFault } from './report';

type Direction = 'export' | 'import';
type Mode = 'transient' | 'persistent' | 'persistent, writes only';

interface KindSpec {
  kind: FaultKind;
  retryable: boolean;
  type: SheetsErrorType;
  /** What the failure must tell the operator. */
  message: RegExp;
  /** Extra fields of the fault, per mode. */
  transient?: Partial<FaultSpec>;
  persistent?: Partial<FaultSpec>;
  /** Also persistent on writes only: the kinds that apply the write before the reply goes wrong. */
  writesOnly?: boolean;
}

/** In the timeout cases a request gets this long, and the latency fault waits longer. */
const REQUEST_TIMEOUT = '2s';
const LATENCY_MS = 4000;
// Short Retry-After where the kind carries one, so persistent 429/5xx runs use up their attempts fast.
const FAST = { retryAfterSeconds: 0.2 };
const UNAVAILABLE = /The Sheets API is failing \(HTTP 5\d\d\); retried with backoff/;
const UNREACHABLE = /could not be reached or closed the connection.*atlas-ops doctor sheets/;
/** Cases running at once (each a home, an emulator and a worker, mostly waiting). */
const PARALLEL = 16;

const KINDS: KindSpec[] = [
  { kind: 'latency', retryable: true, type: 'SheetsUnreachable', message: /did not answer within sheets.requestTimeout/, transient: { latencyMs: LATENCY_MS }, persistent: { latencyMs: LATENCY_MS } },
  { kind: 'reset', retryable: true, type: 'SheetsUnreachable', message: UNREACHABLE },
  { kind: 'lost-reply', retryable: true, type: 'SheetsUnreachable', message: UNREACHABLE, writesOnly: true },
  { kind: 'partial', retryable: true, type: 'SheetsUnreachable', message: UNREACHABLE, writesOnly: true },
  { kind: 'malformed', retryable: true, type: 'SheetsUnavailable', message: /body that is not JSON.*Retried with backoff/ },
  { kind: 429, retryable: true, type: 'SheetsRateLimited', message: /Rate limited by the Sheets API; retried after its Retry-After/, transient: { retryAfterSeconds: 1 }, persistent: FAST },
  { kind: 500, retryable: true, type: 'SheetsUnavailable', message: UNAVAILABLE, persistent: FAST },
  { kind: 502, retryable: true, type: 'SheetsUnavailable', message: UNAVAILABLE, persistent: FAST },
  { kind: 503, retryable: true, type: 'SheetsUnavailable', message: UNAVAILABLE, persistent: FAST },
  { kind: 504, retryable: true, type: 'SheetsUnavailable', message: UNAVAILABLE, persistent: FAST },
  { kind: 400, retryable: false, type: 'SheetsBadRequest', message: /refused the request as invalid.*doctor sheets/ },
  { kind: 401, retryable: false, type: 'SheetsAuthError', message: /service account was refused: check or rotate the key/ },
  { kind: 403, retryable: false, type: 'SheetsPermissionError', message: /Share spreadsheet \S+ with the service account as Editor/ },
  { kind: 404, retryable: false, type: 'SheetsNotFoundError', message: /does not exist: check sheets.spreadsheetId/ },
];

/** What people typed in columns G–I (decision, decided_by, note), and what import must make of it. */
const TYPED = [
  { decision: 'approve', by: 'ana@example.com', note: 'ok to ship', status: 'approved' },
  { decision: ' Reject ', by: 'bo', note: 'needs a rollback plan', status: 'rejected' },
  { decision: 'yes', by: 'cy', note: '', status: 'approved' },
];
const NEW_APPROVAL = 'apr-fault-new';

const sha256 = (file: string) => (fs.existsSync(file) ? crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex') : '-');

interface Case {
  t: TestEnv;
  s: SheetsFixture;
  atlasDb: string;
  ids: string[];
  stop(): Promise<void>;
}

/**
 * A home whose sheet the last export wrote, with three decisions typed in it since, and atlas.db
 * moved on: one approval added (export must append it) and one expired (export must update it).
 */
async function setUp(spec: KindSpec): Promise<Case> {
  const t = await startAtlas({ overrides: spec.kind === 'latency' ? { 'sheets.requestTimeout': REQUEST_TIMEOUT } : {}, sheets: true });
  const s = t.sheets;
  const atlasDb = atlasPaths(t.home).atlasDb;
  const stop = () => t.cleanup();
  try {
    await exportApprovals(sheetsApi(s.config, { timeoutMs: 60_000 }), atlasDb, { now: new Date() });
    const pending = pendingApprovals(t);
    expect(pending.length).toBeGreaterThan(TYPED.length + 1);
    const ids = pending.slice(0, TYPED.length);
    ids.forEach((id, k) => {
      s.type(id, 'G', TYPED[k]!.decision);
      s.type(id, 'H', TYPED[k]!.by);
      if (TYPED[k]!.note) s.type(id, 'I', TYPED[k]!.note);
    });
    const db = openDatabase(atlasDb, { wal: true });
    db.prepare("INSERT INTO approvals (id, task_id, summary, requested_at, status) SELECT ?, task_id, 'added after the last export', ?, 'pending' FROM approvals LIMIT 1")
      .run(NEW_APPROVAL, new Date().toISOString());
    db.prepare("UPDATE approvals SET status = 'expired' WHERE id = ?").run(pending.at(-1));
    db.close();
    await t.startWorker();
    return { t, s, atlasDb, ids, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

const run = (c: Case, direction: Direction, input: Record<string, unknown> = {}, workflowId = `sheets-fault-${direction}-${uid()}`) =>
  c.t.client.workflow.execute(direction === 'export' ? 'sheetsExport' : 'sheetsImport', {
    taskQueue: c.t.config.taskQueue,
    workflowId,
    args: [input],
  }) as Promise<SyncRunResult>;

/**
 * How the run activity (sheetsExportRun, sheetsImportRun) ended, from the workflow's history: the
 * attempt number of its last start, and whether that attempt timed out instead of failing.
 */
async function runActivityEnd(c: Case, direction: Direction, workflowId: string): Promise<{ attempt: number; timedOut: boolean }> {
  const events = (await c.t.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const activity = direction === 'export' ? 'sheetsExportRun' : 'sheetsImportRun';
  const scheduled = new Set(events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activity).map((e) => String(e.eventId)));
  const ofRun = (id: unknown) => scheduled.has(String(id));
  const started = events.filter((e) => ofRun(e.activityTaskStartedEventAttributes?.scheduledEventId)).at(-1);
  return {
    attempt: started?.activityTaskStartedEventAttributes?.attempt ?? 0,
    timedOut: events.some((e) => ofRun(e.activityTaskTimedOutEventAttributes?.scheduledEventId)),
  };
}

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err, 'the run should fail').toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}

const tabs = (c: Case): Cell[][][] => structuredClone(TABS.map((tab) => c.s.rows(tab)));
const atlasHash = (c: Case) => `${sha256(c.atlasDb)} ${sha256(`${c.atlasDb}-wal`)}`;

/** G–I of every approval row, by approval id: the cells that belong to people. */
function humanCells(c: Case): Map<string, string> {
  const out = new Map<string, string>();
  for (const row of c.s.rows().slice(1)) {
    const id = String(row[COL.id] ?? '');
    if (id) out.set(id, JSON.stringify([COL.decision, COL.decidedBy, COL.note].map((i) => row[i] ?? '')));
  }
  return out;
}
const humanCellsLost = (before: Map<string, string>, after: Map<string, string>) => [...before].filter(([id, cells]) => after.get(id) !== cells).length;

/** The tabs a fault-free export produces from the sheet as it is now (run on a copy of it). */
async function faultFreeExport(c: Case): Promise<Cell[][][]> {
  const copy = `${emulatorStateFile(c.t.home)}.reference.json`;
  fs.copyFileSync(emulatorStateFile(c.t.home), copy);
  const ref = await startSheetsEmulator({ file: copy });
  try {
    await exportApprovals(sheetsApi({ ...c.s.config, sheets: { ...c.s.config.sheets, rootUrl: ref.url } }, { timeoutMs: 60_000 }), c.atlasDb, { now: new Date() });
    return structuredClone(TABS.map((tab) => ref.store.sheetRows(c.s.emu.spreadsheetId, tab)));
  } finally {
    await ref.close();
  }
}

/** The export's own timestamp in Status is the one cell allowed to differ from the reference. */
const withoutExportTime = (t: Cell[][][]) => {
  const copy = structuredClone(t);
  const status = copy[TABS.indexOf(TAB.status)]!;
  if (status[STATUS_ROWS.lastExport]) status[STATUS_ROWS.lastExport]![1] = '<time>';
  return copy;
};

/** Rows of Approvals that differ from the reference (a lost, doubled or misplaced row each count). */
function rowsOff(actual: Cell[][][], reference: Cell[][][]): number {
  const approvals = TABS.indexOf(TAB.approvals);
  const a = actual[approvals]!.map((r) => JSON.stringify(r));
  const b = reference[approvals]!.map((r) => JSON.stringify(r));
  let off = Math.abs(a.length - b.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) off++;
  return off;
}

interface Decided {
  status: string;
  decided_at: string | null;
  decided_by: string | null;
  note: string | null;
}

const decided = (c: Case): Decided[] => {
  const db = openDatabase(c.atlasDb, { readonly: true });
  try {
    return c.ids.map((id) => db.prepare('SELECT status, decided_at, decided_by, note FROM approvals WHERE id = ?').get(id) as Decided);
  } finally {
    db.close();
  }
};

/**
 * After an import run that completed: each typed decision applied once, as typed, with its
 * sync_note; a second import (every row checked) finds them all applied and changes no decided_at.
 * Counts the decisions lost or applied twice before it asserts.
 */
async function importedOnce(c: Case, result: SyncRunResult, count: (lost: number) => void): Promise<void> {
  const after = decided(c);
  const right = after.map((d, k) => d.status === TYPED[k]!.status && d.decided_by === TYPED[k]!.by && (d.note ?? '') === TYPED[k]!.note);
  count(right.filter((ok) => !ok).length);
  const again = await run(c, 'import', { forceCheck: true });
  // Applied a second time: a decision the first run applied whose decided_at the second one moved.
  const twice = decided(c).filter((d, k) => right[k] && d.decided_at !== after[k]!.decided_at).length;
  count(twice);
  expect(after.map((d) => d.status)).toEqual(TYPED.map((x) => x.status));
  expect(after.map((d) => [d.decided_by, d.note ?? ''])).toEqual(TYPED.map((x) => [x.by, x.note]));
  // A retry after the commit finds the decisions already applied: together they are all of them.
  expect((result.applied ?? 0) + (result.alreadyApplied ?? 0)).toBe(TYPED.length);
  expect(result.notApplied).toBe(0);
  expect(again).toMatchObject({ applied: 0, alreadyApplied: TYPED.length, notApplied: 0 });
  expect(twice).toBe(0);
  c.ids.forEach((id, k) => expect(c.s.rows()[c.s.rowOf(id) - 1]![COL.syncNote]).toBe(`applied: ${after[k]!.status} at ${after[k]!.decided_at}`));
}

/** After an export run that completed: the sheet as a fault-free export leaves it. Counts rows off first. */
function exportedOnce(c: Case, reference: Cell[][][], count: (lost: number) => void): void {
  const now = tabs(c);
  count(rowsOff(now, reference));
  expect(withoutExportTime(now)).toEqual(withoutExportTime(reference));
  expect(c.s.rows().filter((r) => r[COL.id] === NEW_APPROVAL)).toHaveLength(1);
}

function faultsFor(spec: KindSpec, mode: Mode): FaultSpec[] {
  if (mode === 'transient') {
    // Non-retryable kinds fail the run at its first call; retryable ones hit a read and a write.
    const extra = spec.transient ?? {};
    return spec.retryable ? [{ kind: spec.kind, on: 'read', ...extra }, { kind: spec.kind, on: 'write', ...extra }] : [{ kind: spec.kind, ...extra }];
  }
  const extra = spec.persistent ?? {};
  return [{ kind: spec.kind, count: Infinity, ...(mode === 'persistent, writes only' ? { on: 'write' as const } : {}), ...extra }];
}

/** Whether the run must complete despite the fault. */
const completes = (spec: KindSpec, mode: Mode) => spec.retryable && mode !== 'persistent';

interface FaultCase {
  spec: KindSpec;
  direction: Direction;
  mode: Mode;
  label: string;
}

async function sheetsFaultCase({ spec, direction, mode, label }: FaultCase): Promise<void> {
  const c = await setUp(spec);
  let survived = false;
  let dataLost = 0;
  const count = (lost: number) => (dataLost += lost);
  const humanBefore = humanCells(c);
  try {
    const reference = direction === 'export' ? await faultFreeExport(c) : [];
    const tabsBefore = tabs(c);
    const atlasBefore = atlasHash(c);
    for (const f of faultsFor(spec, mode)) c.s.emu.fault(f);
    c.s.emu.resetStats();
    const caughtUp = (result: SyncRunResult) => (direction === 'export' ? exportedOnce(c, reference, count) : importedOnce(c, result, count));

    if (completes(spec, mode)) {
      await caughtUp(await run(c, direction));
      // Every injected fault was met (a transient one on a read and on a write), and retried.
      if (mode === 'transient') expect(c.s.emu.stats().faulted).toBe(2);
      else expect(c.s.emu.stats().faulted).toBeGreaterThanOrEqual(1);
      // A further plain run has nothing left to do.
      expect((await run(c, direction)).rowsWritten).toBe(0);
    } else {
      const workflowId = `sheets-fault-${direction}-${uid()}`;
      const failure = await failureOf(run(c, direction, {}, workflowId));
      const calls = c.s.emu.stats().requests;
      const end = await runActivityEnd(c, direction, workflowId);
      const sheetChanged = JSON.stringify(tabs(c)) !== JSON.stringify(tabsBefore);
      const atlasChanged = atlasHash(c) !== atlasBefore;
      const attempts = fs.readFileSync(atlasPaths(c.t.home).log(direction), 'utf8').split('\n').filter((l) => l.includes('attempt-failed'));
      const why = `${failure.message}\ncause: ${String(failure.cause)} ${String(failure.cause?.cause)}\nattempts:\n${attempts.join('\n')}`;
      // Non-retryable: at once, one attempt and one call. Retryable: the policy's attempts, one failed
      // call each. An attempt whose task the server handed out and the worker never received (seen
      // on CI's loaded two cores) times out on its heartbeat instead, with no log line and no call:
      // so the attempt count comes from the history, at most one attempt may be lost that way, and
      // every attempt that ran failed with the kind, one call each. (A lost attempt of a
      // non-retryable kind is retried as any timeout is, and the next one fails at once.)
      const n = spec.retryable ? SYNC_RETRY.maximumAttempts : 1;
      const lost = end.attempt - attempts.length;
      expect(lost, why).toBeGreaterThanOrEqual(0);
      expect(lost, why).toBeLessThanOrEqual(1);
      expect(end.attempt, why).toBe(spec.retryable ? n : 1 + lost);
      expect(attempts.map((l) => (JSON.parse(l) as { type: string }).type), why).toEqual(Array<string>(attempts.length).fill(spec.type));
      expect(calls, why).toBe(attempts.length);
      if (end.timedOut) {
        // The lost attempt was the last: the run fails as a timed-out step, not as the kind.
        expect(failure.type, why).toBe('SyncError');
        expect(String(failure.cause?.cause), why).toMatch(/timeout/i);
      } else {
        expect(failure.type, why).toBe(spec.type);
        expect(failure.message).toMatch(spec.message);
      }
      expect(failure.nonRetryable).toBe(true);
      expect(atlasChanged).toBe(false);
      expect(sheetChanged).toBe(false);
      // The operator (or the outage procedure) clears the fault; the next run catches up, once.
      c.s.emu.clearFaults();
      await caughtUp(await run(c, direction));
    }
    expect(humanCellsLost(humanBefore, humanCells(c))).toBe(0);
    survived = true;
  } finally {
    count(humanCellsLost(humanBefore, humanCells(c)));
    recordFault({ fault: label, survived, dataLost });
    await c.stop();
  }
}

// Transient for every kind; persistent where it differs (a non-retryable kind fails at its first
// call either way); every write only where the write is applied (partial, lost-reply).
const CASES: FaultCase[] = KINDS.flatMap((spec) =>
  (['transient', ...(spec.retryable ? ['persistent'] : []), ...(spec.writesOnly ? ['persistent, writes only'] : [])] as Mode[]).flatMap((mode) =>
    (['export', 'import'] as const).map((direction) => ({ spec, direction, mode, label: `Sheets ${spec.kind} during ${direction} (${mode})` })),
  ),
);

/** Roughly how long a case waits: persistent faults without a Retry-After use up the backoff (~30 s). */
const weight = ({ spec, mode }: FaultCase) => (mode === 'persistent' && spec.retryable ? (spec.persistent?.retryAfterSeconds === undefined ? 3 : 1) : mode === 'transient' && spec.retryable ? 2 : 1);

function limit(n: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (fn: () => Promise<void>): Promise<void> => {
    while (active >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      await fn();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

/** Each case's outcome: undefined, or why it failed. */
const outcomes = new Map<string, Promise<Error | undefined>>();

describe('Sheets API faults during sheetsExport and sheetsImport', () => {
  const pooled = http.globalAgent;
  beforeAll(() => {
    // One connection per request, as the faults are counted per request: a pooled socket that the
    // emulator's 5 s keep-alive closes just as the client reuses it fails a call nobody injected.
    http.globalAgent = new http.Agent({ keepAlive: false });
    const slot = limit(PARALLEL);
    for (const c of [...CASES].sort((a, b) => weight(b) - weight(a))) {
      outcomes.set(c.label, slot(() => sheetsFaultCase(c)).then(() => undefined, (err: unknown) => err as Error));
    }
  });
  afterAll(async () => {
    await Promise.all(outcomes.values());
    http.globalAgent = pooled;
  });

  for (const c of CASES) {
    const expected = completes(c.spec, c.mode) ? 'completes after retries' : c.spec.retryable ? 'fails after its retries' : `fails at once (${c.spec.type})`;
    it(`${c.label}: ${expected}, then nothing lost or applied twice`, { timeout: 240_000 }, async () => {
      // A case that never ran has no outcome: that is a failure, not a pass.
      const outcome = outcomes.get(c.label);
      if (!outcome) throw new Error(`${c.label}: no outcome recorded (the case never ran)`);
      const err = await outcome;
      if (err) throw err;
    });
  }
});
