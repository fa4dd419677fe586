// Shared by the corruption recovery fault files (Options A and C): the procedure started, and what
// it must leave when it completes: Option A's copy of the files kept once and byte for byte, a
// sound atlas.db, the schedules it paused unpaused, no flag, no lock, each event recorded once.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { AtlasPaths } from '../../src/paths';
import { integrityProblems, openDatabase } from '../../src/db/sqlite';
import type { CorruptionRecoveryResult } from '../../workflows/corruption-recovery';
import { schedulePaused, uid, type TestEnv } from '../helpers/env';
import { expectDbHoldReleased, repeatedProcedureEvents } from './checks';

/** The schedules each case creates (recovery pauses every atlas schedule that exists). */
export const SCHEDULES = ['backup', 'export', 'import'];

const digest = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** atlas.db and its WAL as they were before the procedure started. */
export function filesNow(paths: AtlasPaths): { db: string; wal: string } {
  return { db: digest(paths.atlasDb), wal: digest(`${paths.atlasDb}-wal`) };
}

/** What Option A kept in data/: atlas.db.pre-checkpoint-<stamp>[-wal|-shm], and any unfinished copy. */
export const keptFiles = (paths: AtlasPaths) => fs.readdirSync(paths.dataDir).filter((f) => f.startsWith('atlas.db.pre-checkpoint-')).sort();

/** The evidence lost: 1 unless exactly one copy of atlas.db and of its WAL is kept as they were. */
export function evidenceLost(paths: AtlasPaths, before: { db: string; wal: string }): number {
  const kept = keptFiles(paths);
  const db = kept.filter((f) => /^atlas\.db\.pre-checkpoint-\d{8}-\d{6}$/.test(f));
  const wal = kept.filter((f) => /^atlas\.db\.pre-checkpoint-\d{8}-\d{6}-wal$/.test(f));
  if (db.length !== 1 || wal.length !== 1) return 1;
  const same = digest(path.join(paths.dataDir, db[0]!)) === before.db && digest(path.join(paths.dataDir, wal[0]!)) === before.wal;
  return same ? 0 : 1;
}

/** Option A's copy, once, byte for byte, no unfinished copy left, and the result names it. */
export function expectEvidenceKeptOnce(paths: AtlasPaths, before: { db: string; wal: string }, r: CorruptionRecoveryResult): void {
  const kept = keptFiles(paths);
  expect(kept.filter((f) => f.endsWith('.tmp'))).toEqual([]);
  expect(evidenceLost(paths, before)).toBe(0);
  expect(r.evidenceKept.map((f) => path.basename(f)).sort()).toEqual(kept);
}

export function expectSound(paths: AtlasPaths): void {
  const db = openDatabase(paths.atlasDb, { readonly: true });
  expect(integrityProblems(db)).toEqual([]);
  db.close();
}

/** Paused what ran, unpaused exactly that, gave back the flag and the lock, recorded each event once. */
export async function expectReleasedOnce(t: TestEnv, r: CorruptionRecoveryResult): Promise<void> {
  expect([...r.pausedSchedules].sort()).toEqual(SCHEDULES);
  expect(r.unpausedSchedules).toEqual(r.pausedSchedules);
  for (const name of SCHEDULES) expect((await schedulePaused(t, name)).paused).toBe(false);
  expectDbHoldReleased(t);
  expect(repeatedProcedureEvents(t, r.workflowId)).toEqual([]);
}

/** Starts corruptionRecovery with its trigger naming the kill point; Option C only when `allowOci`. */
export const startRecovery = (t: TestEnv, point: string, allowOci: boolean) =>
  t.client.workflow.start('corruptionRecovery', {
    taskQueue: t.config.taskQueue,
    workflowId: `recovery-fault-${uid()}`,
    args: [{ allowOci, trigger: `fault ${point}` }],
  });

