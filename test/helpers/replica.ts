// The continuous replica seen from a test: wait until it has caught up with the live atlas.db,
// restore it into a scratch file with Litestream itself, and count what a real writer committed
// that the restore lacks (the fault suite's "data lost").
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import type { AtlasConfig } from '../../src/config';
import type { AtlasPaths } from '../../src/paths';
import { withDatabase } from '../../src/db/sqlite';
import { litestream } from '../../src/replication/litestream';
import { replicationStatus, type ReplicationStatus } from '../../src/replication/status';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every WAL write Litestream took is in the replica, and nothing is waiting. */
export const caughtUp = (s: ReplicationStatus) => s.replicaTxid !== undefined && s.replicaTxid === s.localTxid && s.lagSeconds === 0;

/** Polls the status until `done` holds, at most `ms`; returns the last one seen. */
export async function statusUntil(config: AtlasConfig, paths: AtlasPaths, done: (s: ReplicationStatus) => boolean, ms = 20_000): Promise<ReplicationStatus> {
  const until = Date.now() + ms;
  let s = await replicationStatus(config, paths);
  while (!done(s) && Date.now() < until) {
    await sleep(250);
    s = await replicationStatus(config, paths);
  }
  return s;
}

/** Restores the replica's newest point into a scratch file (removed by `cleanup`). */
export async function restoreReplicaToScratch(config: AtlasConfig, paths: AtlasPaths): Promise<{ file: string; cleanup(): void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-replica-restore-'));
  const file = path.join(dir, 'restored.db');
  const r = await litestream(config, paths, ['restore', '-o', file, paths.atlasDb], 60_000);
  expect(r.code, r.stderr).toBe(0);
  return { file, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Ids of the rows the holder writer (test/helpers/holders.ts) committed to `file`. */
export function writerRowIds(file: string): number[] {
  return withDatabase(file, { readonly: true }, (db) => db.prepare("SELECT id FROM errors WHERE source = 'holder' ORDER BY id").pluck().all() as number[]);
}

/** Rows the writer committed to the live file that `restored` lacks. */
export function rowsMissing(live: number[], restored: number[]): number {
  const have = new Set(restored);
  return live.filter((id) => !have.has(id)).length;
}
