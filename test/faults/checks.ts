// Shared by the fault files: the worker that is killed and started again, and the checks of what a
// completed procedure must leave (exactly once) and what refused input must not leave.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { expect } from 'vitest';
import { openOpsDb } from '../../src/db/ops-db';
import { atlasPaths } from '../../src/paths';
import { listBackups } from '../../src/db/snapshot';
import { openDatabase } from '../../src/db/sqlite';
import type { MaintenanceResult } from '../../workflows/maintenance';
import { eventually, schedulePaused, spawnWorker, type TestEnv } from '../helpers/env';

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
  expectDbHoldReleased(t);
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

/**
 * How long a spawned worker may take to reach its kill point: its start (bundling the workflows) plus every
 * step before the point. Generous because concurrent cases share two cores (CI once needed more than
 * 150 s to reach Option R's check after the swap, eight cases at once beside the suite); the case's
 * own timeout bounds it.
 */
const KILL_POINT_WAIT_MS = 240_000;

/** Waits for a worker spawned with ATLAS_FAULT_KILL to have killed itself. */
export async function workerDied(worker: ChildProcess, point: string): Promise<void> {
  await eventually(() => worker.exitCode !== null || worker.signalCode !== null, KILL_POINT_WAIT_MS, `the worker to die at ${point}`);
}

/** No maintenance flag and no atlas.db lock left behind. */
export function expectDbHoldReleased(t: TestEnv): void {
  const paths = atlasPaths(t.home);
  expect(fs.existsSync(paths.maintenanceFlag)).toBe(false);
  const ops = openDatabase(paths.opsDb, { readonly: true });
  expect(ops.prepare('SELECT count(*) FROM locks').pluck().get()).toBe(0);
  ops.close();
}

/** Messages of the procedure's log (ops.db) recorded more than once: a repeated "who did what". */
export function repeatedProcedureEvents(t: TestEnv, workflowId: string): string[] {
  const ops = openDatabase(atlasPaths(t.home).opsDb, { readonly: true });
  try {
    return ops.prepare('SELECT message FROM procedure_log WHERE workflow_id = ? GROUP BY step, actor, message HAVING count(*) > 1').pluck().all(workflowId) as string[];
  } finally {
    ops.close();
  }
}

/** The worker a fault test runs: the first one dies (at its kill point, or killed by the test) and a fresh one takes over at once. */
export interface FaultWorker {
  /** The worker running now. */
  readonly current: ChildProcess;
  /** Waits until the first worker has died and its successor is started. */
  restarted(point: string): Promise<void>;
  /** SIGKILLs the first worker from outside: in a wait, or inside a synchronous activity. */
  kill(): void;
  stop(): void;
}

export function faultWorker(t: TestEnv, env: NodeJS.ProcessEnv = {}, killPoint?: string): FaultWorker {
  const first = spawnWorker(t, killPoint ? { ...env, ATLAS_FAULT_KILL: killPoint } : env);
  let current = first;
  let stopped = false;
  first.once('exit', () => {
    if (!stopped) current = spawnWorker(t, env);
  });
  return {
    get current() {
      return current;
    },
    restarted: async (point) => {
      await eventually(() => current !== first, KILL_POINT_WAIT_MS, `the worker to die at ${point}`);
    },
    kill: () => first.kill('SIGKILL'),
    stop: () => {
      stopped = true;
      current.kill('SIGKILL');
    },
  };
}

/**
 * SIGKILLs the worker at the first file event in `dir` that `hit` matches: how a test kills inside
 * a synchronous activity (a copy, a checkpoint), where a timer inside the worker could not strike.
 */
export function killOnFileEvent(dir: string, hit: (name: string, event: string) => boolean, kill: () => void): fs.FSWatcher {
  const watcher = fs.watch(dir, (event, name) => {
    if (name && hit(name, event)) {
      kill();
      watcher.close();
    }
  });
  return watcher;
}
