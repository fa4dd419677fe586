// Point-in-time restore from the replica (docs/safety.md#continuous-replica): Litestream rebuilds
// the database at the chosen point into a file beside atlas.db; from there it goes through the
// same staging, verify, keep-the-replaced-file and swap as a local backup (src/db/restore.ts).
import fs from 'node:fs';
import path from 'node:path';
import type { AtlasConfig } from '../config';
import type { AtlasPaths } from '../paths';
import { whileTicking } from '../db/integrity';
import { DATABASE_FILE_SUFFIXES } from '../db/sqlite';
import { litestream } from './litestream';
import { replicaLtx, restorableRange } from './status';

export class ReplicaRestoreError extends Error {
  override name = 'ReplicaRestoreError';
  constructor(
    /** input: the point asked for is not in the replica (nothing changed); replica: it could not be read or rebuilt. */
    readonly kind: 'input' | 'replica',
    message: string,
  ) {
    super(message);
  }
}

/** The point `at` (ISO) checked against what the replica holds now: a message naming the range, or undefined. */
export function pointProblem(at: string, range: { oldest?: string; newest?: string }, now: Date): string | undefined {
  const t = Date.parse(at);
  if (Number.isNaN(t)) return `at: "${at}" is not an ISO date-time`;
  if (!range.oldest) return 'at: the replica holds no restorable point yet';
  // Litestream prints LTX times to the second: the oldest point is the start of that second.
  if (t < Date.parse(range.oldest)) return `at: ${at} is before the oldest restorable point ${range.oldest} (restorable: ${range.oldest} to now)`;
  if (t > now.getTime()) return `at: ${at} is in the future (restorable: ${range.oldest} to now, ${now.toISOString()})`;
  return undefined;
}

/**
 * Rebuilds atlas.db as it was at `at` (default: the newest point) into `file` with
 * `litestream restore`. A failure removes the partial file: nothing is left behind.
 */
export async function restoreReplicaInto(config: AtlasConfig, paths: AtlasPaths, file: string, options: { at?: string; now?: Date; onTick?: () => void } = {}): Promise<{ point: string }> {
  const listing = await replicaLtx(config, paths, 30_000);
  if (!listing.entries) throw new ReplicaRestoreError('replica', `the replica cannot be read: ${listing.error}`);
  const range = restorableRange(listing.entries);
  if (options.at) {
    const problem = pointProblem(options.at, range, options.now ?? new Date());
    if (problem) throw new ReplicaRestoreError('input', problem);
  } else if (!range.newest) {
    throw new ReplicaRestoreError('input', 'replica: the replica holds no restorable point yet');
  }
  const clean = () => {
    for (const s of DATABASE_FILE_SUFFIXES) fs.rmSync(`${file}${s}`, { force: true });
  };
  clean();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const args = ['restore', '-o', file, ...(options.at ? ['-timestamp', new Date(options.at).toISOString()] : []), paths.atlasDb];
  const r = await whileTicking(litestream(config, paths, args, 60 * 60_000), options.onTick).catch((err: unknown) => {
    clean();
    throw err;
  });
  if (r.code !== 0 || !fs.existsSync(file)) {
    clean();
    throw new ReplicaRestoreError('replica', `litestream restore exited ${r.code ?? 'on its timeout'}: ${r.stderr.trim().split('\n').slice(-2).join(' ').slice(0, 400)}`);
  }
  return { point: options.at ?? range.newest! };
}
