// The sync record in ops.db: outage detection rules and check-sync-health figures.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openOpsDb } from '../src/db/ops-db';
import type { Db } from '../src/db/sqlite';
import { outageReason, recordRun, syncHealth, syncOffline, type RunRecord } from '../src/sheets/runs';

let dir: string;
let db: Db;
const T0 = Date.parse('2026-11-28T08:00:00.000Z');
const HOUR = 3_600_000;
const at = (min: number) => new Date(T0 + min * 60_000).toISOString();
let n = 0;
const run = (min: number, outcome: RunRecord['outcome'], error?: string, direction: RunRecord['direction'] = 'export') =>
  recordRun(db, { direction, workflowId: `wf-${n++}`, startedAt: at(min), finishedAt: at(min), outcome, error });

describe('sync runs', () => {
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sync-runs-'));
    db = openOpsDb(path.join(dir, 'ops.db'));
  });
  afterEach(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('three consecutive auth or connectivity failures mean an outage; other failures do not', () => {
    run(0, 'ok');
    run(5, 'failed', 'SheetsAuthError: refused');
    run(10, 'failed', 'SheetsUnreachable: no route');
    expect(outageReason(db, new Date(T0 + 11 * 60_000), HOUR)).toBeUndefined();
    run(12, 'skipped', 'skipped: maintenance');
    run(15, 'failed', 'SheetsUnavailable: 503');
    expect(outageReason(db, new Date(T0 + 16 * 60_000), HOUR)).toMatch(/^3 consecutive sync failures \(last: SheetsUnavailable: 503\)/);
    run(20, 'failed', 'SheetsLayoutError: header moved');
    expect(outageReason(db, new Date(T0 + 21 * 60_000), HOUR)).toBeUndefined();
  });

  it('auth or connectivity failures for longer than thresholds.syncOffline are an outage; other failures never are', () => {
    run(0, 'ok');
    run(5, 'failed', 'SheetsLayoutError: header moved');
    run(6, 'failed', 'DatabaseCorrupt: atlas.db: file is not a database');
    // Hours of failures that are not the network's: no outage.
    expect(outageReason(db, new Date(T0 + 300 * 60_000), HOUR)).toBeUndefined();
    expect(syncOffline(db)).toEqual({ lastOk: at(0), failingSince: null });
    run(10, 'failed', 'SheetsUnreachable: no route');
    run(12, 'skipped', 'skipped: maintenance');
    run(15, 'failed', 'SheetsLayoutError: header moved');
    // A layout error means the sheet answered: the streak starts again at the next connectivity failure.
    run(20, 'failed', 'SheetsUnreachable: no route');
    expect(syncOffline(db)).toEqual({ lastOk: at(0), failingSince: at(20) });
    // "Sync offline >1 hour": exactly the threshold is not yet an outage, one millisecond more is.
    expect(outageReason(db, new Date(T0 + 80 * 60_000), HOUR)).toBeUndefined();
    expect(outageReason(db, new Date(T0 + 80 * 60_000 + 1), HOUR)).toMatch(/^auth or connectivity failures since 2026-11-28T08:20:00.000Z, no successful sync since 2026-11-28T08:00:00.000Z \(over 60 min\)/);
    // The threshold is the configured one, not a fixed hour.
    expect(outageReason(db, new Date(T0 + 35 * 60_000 + 1), 15 * 60_000)).toMatch(/\(over 15 min\)$/);
    expect(outageReason(db, new Date(T0 + 35 * 60_000), 15 * 60_000)).toBeUndefined();
    run(90, 'ok');
    expect(outageReason(db, new Date(T0 + 300 * 60_000), HOUR)).toBeUndefined();
  });

  it('a retried run replaces its own row', () => {
    recordRun(db, { direction: 'import', workflowId: 'same', startedAt: at(0), finishedAt: at(0), outcome: 'ok', rowsWritten: 1 });
    recordRun(db, { direction: 'import', workflowId: 'same', startedAt: at(0), finishedAt: at(1), outcome: 'ok', rowsWritten: 1 });
    expect(db.prepare('SELECT count(*) FROM sync_runs').pluck().get()).toBe(1);
  });

  it('health: success rate, last success and lag per direction', () => {
    for (let i = 0; i < 99; i++) run(i, 'ok');
    run(100, 'failed', 'SheetsRateLimited: 429');
    run(100, 'ok', undefined, 'import');
    run(101, 'skipped', 'skipped: maintenance', 'import');
    const h = syncHealth(db, new Date(T0 + 110 * 60_000), { successPercent: 99, offlineAfterMs: HOUR });
    expect(h.successPercent).toBeCloseTo((100 * 100) / 101, 5);
    expect(h.healthy).toBe(true);
    expect(h.directions[0]).toMatchObject({ direction: 'export', ok: 99, failed: 1, lastSuccess: at(98), lagMs: 12 * 60_000, lastError: 'SheetsRateLimited: 429' });
    expect(h.directions[1]).toMatchObject({ direction: 'import', ok: 1, skipped: 1 });
    run(111, 'failed', 'SheetsAuthError: refused');
    const worse = syncHealth(db, new Date(T0 + 200 * 60_000), { successPercent: 99, offlineAfterMs: HOUR });
    expect(worse.healthy).toBe(false);
    expect(worse.problems).toEqual(expect.arrayContaining([expect.stringMatching(/success rate 98\.0 % is below 99 %/), expect.stringMatching(/^export: last success/)]));
  });
});
