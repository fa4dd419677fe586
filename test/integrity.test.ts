// Whole-database checks run in a thread: the process that asked keeps its event loop (and with it
// the activity's heartbeats and the worker's other tasks) while a large file is read end to end.
// A synchronous check of a database slower to check than the heartbeat timeout would be timed out
// and retried forever.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDatabase } from '../src/db/check';
import { padAtlasDb } from '../src/db/demo-seed';
import { restoreBackup, RestoreError } from '../src/db/restore';
import { takeSnapshot } from '../src/db/snapshot';
import { integrityProblems, openDatabase } from '../src/db/sqlite';
import { garbageOverPages } from './helpers/corrupt';

let dir: string;
let db: string;

/** Runs `work` while a 5 ms interval counts how often the event loop got to run it. */
async function loopTicks(work: (onTick: () => void) => Promise<unknown>): Promise<{ ms: number; intervalRuns: number; ticks: number }> {
  let intervalRuns = 0;
  let ticks = 0;
  const interval = setInterval(() => intervalRuns++, 5);
  const t0 = performance.now();
  try {
    await work(() => ticks++);
  } finally {
    clearInterval(interval);
  }
  return { ms: performance.now() - t0, intervalRuns, ticks };
}

describe('integrity checks off the event loop', { timeout: 120_000 }, () => {
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-integrity-'));
    db = path.join(dir, 'atlas.db');
    padAtlasDb(db, 120);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the synchronous check blocks the loop (what the threaded one must not do)', () => {
    const handle = openDatabase(db, { readonly: true });
    let ran = 0;
    const interval = setInterval(() => ran++, 5);
    const t0 = performance.now();
    expect(integrityProblems(handle)).toEqual([]);
    const ms = performance.now() - t0;
    clearInterval(interval);
    handle.close();
    expect(ms).toBeGreaterThan(30);
    expect(ran).toBe(0);
  });

  it('checkDatabase keeps the loop running and ticks (heartbeats) while it checks', async () => {
    const r = await loopTicks(async (onTick) => {
      const c = await checkDatabase(db, onTick);
      expect(c).toMatchObject({ ok: true, problems: [], journalMode: 'wal' });
    });
    // The interval got to run through the check, not once at its end.
    expect(r.intervalRuns).toBeGreaterThanOrEqual(Math.floor(r.ms / 5 / 8));
    expect(r.intervalRuns).toBeGreaterThan(3);
  });

  it('checkDatabase reports a damaged or foreign file as problems, never throws', async () => {
    const bad = path.join(dir, 'bad.db');
    fs.copyFileSync(db, bad);
    garbageOverPages(bad);
    const c = await checkDatabase(bad);
    expect(c.ok).toBe(false);
    expect(c.problems.length).toBeGreaterThan(0);
    const text = path.join(dir, 'notes.txt');
    fs.writeFileSync(text, 'not a database, just notes');
    expect(await checkDatabase(text)).toMatchObject({ ok: false, problems: [expect.stringMatching(/atlas\.db: .*notes\.txt is not a SQLite database/)] });
  });

  it('restoreBackup copies and checks without blocking, and refuses a damaged backup with nothing changed', async () => {
    const backups = path.join(dir, 'backups');
    const manifest = await takeSnapshot({ source: db, backupsDir: backups, reason: 'integrity test' });
    const target = path.join(dir, 'restore-target.db');
    fs.copyFileSync(db, target);
    garbageOverPages(target);
    const r = await loopTicks(async (onTick) => {
      const res = await restoreBackup({ backupFile: path.join(backups, manifest.file), target, keepSuffix: 'corrupted-test', onTick });
      expect(res.alreadyDone).toBe(false);
    });
    expect(r.intervalRuns).toBeGreaterThan(3);
    expect(r.intervalRuns).toBeGreaterThanOrEqual(Math.floor(r.ms / 5 / 8));
    const restored = openDatabase(target, { readonly: true });
    expect(integrityProblems(restored)).toEqual([]);
    expect(restored.pragma('journal_mode', { simple: true })).toBe('wal');
    restored.close();
    expect(fs.existsSync(`${target}.restored`)).toBe(false);
    expect(fs.existsSync(`${target}.restored-wal`)).toBe(false);

    const damaged = path.join(backups, 'atlas_20260101-000000.db');
    fs.copyFileSync(path.join(backups, manifest.file), damaged);
    garbageOverPages(damaged);
    const other = path.join(dir, 'other.db');
    fs.copyFileSync(db, other);
    const before = fs.readFileSync(other);
    const err = await restoreBackup({ backupFile: damaged, target: other, keepSuffix: 'kept' }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(RestoreError);
    expect((err as Error).message).toMatch(/atlas_20260101-000000\.db fails integrity_check/);
    expect(fs.readFileSync(other).equals(before)).toBe(true);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('other.db.'))).toEqual([]);
  });
});
