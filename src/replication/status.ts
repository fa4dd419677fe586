// `atlas-ops replication status` and the health check's replication metrics
// (docs/safety.md#continuous-replica). Litestream 0.5 has no generations: a replica is a chain of
// LTX files, each covering a range of transaction ids (TXIDs), compacted into levels 1–3 and
// snapshotted at level 9. "Position" is therefore the highest TXID in the replica against the
// highest TXID Litestream has taken from the local WAL.
import fs from 'node:fs';
import path from 'node:path';
import { replicaConfigured, type AtlasConfig } from '../config';
import type { AtlasPaths } from '../paths';
import { litestream, replicaFiles, replicaUrl } from './litestream';

export type ReplicationState = 'running' | 'stopped' | 'lagging' | 'not configured';

export interface ReplicationStatus {
  state: ReplicationState;
  /** s3://bucket/path?endpoint=…: never a key. */
  replicaUrl?: string;
  /** Highest TXID Litestream has taken from atlas.db's WAL (hex, as Litestream prints it). */
  localTxid?: string;
  /** Highest TXID in the replica; the last one seen when the replica cannot be reached now. */
  replicaTxid?: string;
  /** When the newest LTX file in the replica was written. */
  lastSyncAt?: string;
  /** Age of the oldest write Litestream has taken from the WAL and not yet shipped; 0 when caught up. */
  lagSeconds?: number;
  /** Oldest point a point-in-time restore can reach: the oldest snapshot in the replica. */
  oldestRestorableAt?: string;
  /** Newest restorable point. */
  newestRestorableAt?: string;
  replicatorAlive?: boolean;
  /** Why the replica could not be read, when it could not. */
  replicaError?: string;
}

interface LtxEntry {
  level: number;
  min_txid: string;
  max_txid: string;
  timestamp: string;
}

const txid = (hex: string) => BigInt(`0x${hex}`);
const hex = (n: bigint) => n.toString(16).padStart(16, '0');

/** Litestream's local LTX files of level 0 (`.<db>-litestream/ltx/0/<min>-<max>.ltx`), with when each was made. */
function localL0(atlasDb: string): { max: bigint; mtimeMs: number }[] {
  const dir = path.join(path.dirname(atlasDb), `.${path.basename(atlasDb)}-litestream`, 'ltx', '0');
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const out: { max: bigint; mtimeMs: number }[] = [];
  for (const name of names) {
    const m = /^[0-9a-f]{16}-([0-9a-f]{16})\.ltx$/.exec(name);
    if (!m) continue;
    try {
      out.push({ max: txid(m[1]!), mtimeMs: fs.statSync(path.join(dir, name)).mtimeMs });
    } catch {
      /* removed by Litestream's retention meanwhile */
    }
  }
  return out;
}

/** The replica's LTX files of every level, or why they could not be listed. */
export async function replicaLtx(config: AtlasConfig, paths: AtlasPaths, timeoutMs = 8000): Promise<{ entries?: LtxEntry[]; error?: string }> {
  const res = await litestream(config, paths, ['ltx', '-level', 'all', '-json', paths.atlasDb], timeoutMs);
  if (res.code !== 0) return { error: (res.stderr.trim().split('\n').pop() || `exit ${res.code ?? 'timeout'}`).slice(0, 300) };
  try {
    return { entries: JSON.parse(res.stdout || '[]') as LtxEntry[] };
  } catch {
    return { error: `unexpected output of litestream ltx: ${res.stdout.slice(0, 200)}` };
  }
}

/** True when Litestream's control socket answers for this home (replication configured and running). */
export async function replicatorAlive(config: AtlasConfig, paths: AtlasPaths): Promise<boolean> {
  if (!replicaConfigured(config) || !fs.existsSync(replicaFiles(paths).socket)) return false;
  try {
    return (await litestream(config, paths, ['info', '-json', '-timeout', '3'], 5000)).code === 0;
  } catch {
    return false;
  }
}

/** Oldest (the oldest snapshot) and newest points the replica's LTX files can restore. */
export function restorableRange(entries: LtxEntry[]): { oldest?: string; newest?: string } {
  const times = entries.map((f) => f.timestamp).sort();
  const snapshots = entries.filter((f) => f.level === 9).map((f) => f.timestamp).sort();
  return { oldest: snapshots[0] ?? times[0], newest: times[times.length - 1] };
}

export async function replicationStatus(config: AtlasConfig, paths: AtlasPaths, now = new Date()): Promise<ReplicationStatus> {
  if (!replicaConfigured(config)) return { state: 'not configured' };
  const files = replicaFiles(paths);
  const [alive, listing] = await Promise.all([replicatorAlive(config, paths), replicaLtx(config, paths)]);
  const local = localL0(paths.atlasDb);
  const localMax = local.reduce((m, f) => (f.max > m ? f.max : m), 0n);

  let replicaMax: bigint | undefined;
  const out: ReplicationStatus = { state: 'running', replicaUrl: replicaUrl(config), replicatorAlive: alive };
  if (listing.entries) {
    const e = listing.entries;
    replicaMax = e.reduce((m, f) => (txid(f.max_txid) > m ? txid(f.max_txid) : m), 0n);
    const range = restorableRange(e);
    out.lastSyncAt = range.newest;
    out.newestRestorableAt = range.newest;
    out.oldestRestorableAt = range.oldest;
    fs.mkdirSync(paths.runDir, { recursive: true });
    fs.writeFileSync(files.positionFile, JSON.stringify({ replicaTxid: hex(replicaMax), lastSyncAt: out.lastSyncAt, seenAt: now.toISOString() }));
  } else {
    out.replicaError = listing.error;
    // The replica is out of reach: measure against the last position seen.
    try {
      const seen = JSON.parse(fs.readFileSync(files.positionFile, 'utf8')) as { replicaTxid: string; lastSyncAt?: string };
      replicaMax = txid(seen.replicaTxid);
      out.lastSyncAt = seen.lastSyncAt;
    } catch {
      replicaMax = undefined;
    }
  }
  if (localMax > 0n) out.localTxid = hex(localMax);
  if (replicaMax !== undefined) out.replicaTxid = hex(replicaMax);
  // Lag: the oldest local LTX file beyond the replica's position is the oldest write not shipped.
  const pending = local.filter((f) => replicaMax === undefined || f.max > replicaMax);
  const oldestPending = pending.reduce((m, f) => Math.min(m, f.mtimeMs), Infinity);
  out.lagSeconds = Number.isFinite(oldestPending) ? Math.max(0, Math.round((now.getTime() - oldestPending) / 100) / 10) : 0;
  const lagging = out.replicaError !== undefined || out.lagSeconds > Math.max(2, (5 * config.replica.syncInterval) / 1000);
  out.state = !alive ? 'stopped' : lagging ? 'lagging' : 'running';
  return out;
}

export function replicationStatusText(s: ReplicationStatus): string {
  if (s.state === 'not configured') return 'replication: not configured (set replica.endpoint, replica.bucket and replica.credentialsFile; docs/safety.md#continuous-replica)';
  return [
    `replication: ${s.state}`,
    `  replica          ${s.replicaUrl}`,
    `  position         replica TXID ${s.replicaTxid ?? '-'} / local TXID ${s.localTxid ?? '-'}`,
    `  last sync        ${s.lastSyncAt ?? '-'}`,
    `  lag              ${s.lagSeconds ?? '-'} s`,
    `  restorable from  ${s.oldestRestorableAt ?? '-'} to ${s.newestRestorableAt ?? '-'}`,
    ...(s.replicaError ? [`  replica error    ${s.replicaError}`] : []),
  ].join('\n');
}
