// Checks shared by the fault files: what a completed maintenance cycle must leave (exactly once),
// and what refused input must not leave.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { expect } from 'vitest';
import { openOpsDb } from '../../src/db/ops-db';
import { atlasPaths } from '../../src/paths';
import { listBackups } from '../../src/db/snapshot';
import { openDatabase } from '../../src/db/sqlite';
import type { MaintenanceResult } from '../../workflows/maintenance';
import { eventually, schedulePaused, type TestEnv } from '../helpers/env';

export const EDIT_MESSAGE = 'the edit';

/** The operator's edit during the edit phase. */
export function makeTheEdit(t: TestEnv): void {
  const edited = openDatabase(atlasPaths(t.home).atlasDb, { wal: true });
  edited.prepare("INSERT INTO errors (at, source, level, message) VALUES ('2026-11-28T00:00:00Z', 'fault', 'info', ?)").run(EDIT_MESSAGE);
  edited.close();
}

/**
 * One verified snapshot, export/import paused and unpaused once (backup left paused by the
 * operator as createSchedules set it up), no flag, no lock. Returns the data lost: 0 when the edit
 * is in atlas.db exactly once.
 */
export async function expectMaintenanceCompletedOnce(t: TestEnv, result: MaintenanceResult): Promise<number> {
  const paths = atlasPaths(t.home);
  expect(result.outcome).toBe('completed');
  const backups = listBackups(paths.backupsDir);
  expect(backups).toHaveLength(1);
  expect(backups[0]!.verified).toBe(true);
  expect(fs.readdirSync(paths.backupsDir).filter((f) => f.includes('partial'))).toEqual([]);
  expect(result.pausedSchedules).toEqual(['export', 'import']);
  expect(result.unpausedSchedules).toEqual(['export', 'import']);
  expect((await schedulePaused(t, 'export')).paused).toBe(false);
  expect((await schedulePaused(t, 'import')).paused).toBe(false);
  expect(await schedulePaused(t, 'backup')).toEqual({ paused: true, note: 'paused by the operator for testing' });
  expect(fs.existsSync(paths.maintenanceFlag)).toBe(false);
  const ops = openDatabase(paths.opsDb, { readonly: true });
  expect(ops.prepare('SELECT count(*) FROM locks').pluck().get()).toBe(0);
  ops.close();
  const db = openDatabase(paths.atlasDb, { readonly: true });
  const edits = db.prepare('SELECT count(*) FROM errors WHERE message = ?').pluck().get(EDIT_MESSAGE);
  db.close();
  return edits === 1 ? 0 : 1;
}

/** Nothing a procedure leaves behind: no backup, no maintenance flag, no lock, procedure log line or alert. */
export function expectNoTrace(home: string): void {
  const paths = atlasPaths(home);
  expect(fs.existsSync(paths.backupsDir) ? fs.readdirSync(paths.backupsDir) : []).toEqual([]);
  expect(fs.existsSync(paths.maintenanceFlag)).toBe(false);
  const ops = openOpsDb(paths.opsDb);
  try {
    expect(ops.prepare('SELECT COUNT(*) FROM locks').pluck().get()).toBe(0);
    expect(ops.prepare('SELECT COUNT(*) FROM procedure_log').pluck().get()).toBe(0);
    expect(ops.prepare('SELECT COUNT(*) FROM alerts').pluck().get()).toBe(0);
  } finally {
    ops.close();
  }
}

/** Waits for a worker spawned with ATLAS_FAULT_KILL to have killed itself. */
export async function workerDied(worker: ChildProcess, point: string): Promise<void> {
  await eventually(() => worker.exitCode !== null || worker.signalCode !== null, 90_000, `the worker to die at ${point}`);
}
