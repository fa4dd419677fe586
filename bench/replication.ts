// Continuous replica benchmark (docs/performance.md#continuous-replica): real Litestream shipping a
// real atlas.db to the local S3 server (s3rver) while the app's stand-in (bench/lib/writer.js)
// commits 150 times a second. All in one run:
// - loss window: SIGKILL the writer at a random moment, corrupt atlas.db, recover through Option R's
//   code (restoreReplicaInto → integrity_check → restoreBackup with the replicator paused, as the
//   stageReplica / restoreStagedReplica activities do); seconds of commits lost, beside what Option B
//   (the daily backup) would lose at that moment;
// - replication lag: the TXID positions `replication status` reads, sampled under the writer, in
//   steady operation and just after each restore (when the first compaction carries the whole database);
// - cost to the app: commits/s and worst commit stall with Litestream running vs paused;
// - RTO: restore from the replica vs from a local backup vs a raw copy, same size.
//
//   npx tsx bench/replication.ts --mb=100 --runs=5
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type AtlasConfig } from '../src/config';
import { ensureHome } from '../src/home';
import { atlasPaths, type AtlasPaths } from '../src/paths';
import { checkIntegrity } from '../src/db/integrity';
import { restoreBackup } from '../src/db/restore';
import { takeSnapshot } from '../src/db/snapshot';
import { fsyncPath, withDatabase } from '../src/db/sqlite';
import { writeDevCredentials } from '../src/replication/dev-s3';
import { replicatorControl } from '../src/replication/control';
import { superviseLitestream, type Replicator } from '../src/replication/replicator';
import { restoreReplicaInto } from '../src/replication/restore';
import { replicationStatus } from '../src/replication/status';
import { arg, makeAtlasDb, mb, timeAsync } from './lib/atlas-db';
import { startDevS3Process } from './lib/s3-process';
import { startWriter, stopWriter, type WriterStats } from './lib/writer-process';

const sizeMb = arg('mb', 100);
const runs = arg('runs', 5);
const rate = arg('rate', 150);
const phaseS = arg('seconds', 20);
const lagS = arg('lag-seconds', 120);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
const met = (ok: boolean) => (ok ? 'met' : 'NOT met');

/**
 * Commit time of the writer's newest row in `file` (its `at` is the commit's wall clock). Opened
 * read-write: a writer killed after its WAL fsync but before the wal-index update has committed,
 * and only a connection that may rebuild the wal-index (as the app's restart would) sees it.
 */
function newestWrite(file: string): number {
  return withDatabase(file, {}, (db) => {
    const at = db.prepare("SELECT max(at) FROM errors WHERE source = 'bench' AND message LIKE 'bench write %'").pluck().get() as string | null;
    return at ? Date.parse(at) : 0;
  });
}

/** The garbage a disk fault leaves: the first 4 KiB of the file (header and schema page) zeroed. */
function corrupt(file: string): void {
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Buffer.alloc(4096), 0, 4096, 0);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
}

/** When the daily backup (schedules.backup, "M H * * *" in UTC) last ran before `at`. */
function lastDailyBackup(config: AtlasConfig, at: number): number {
  const [m, h] = (config.schedules.backup.cron ?? '0 2').split(/\s+/).map(Number);
  const d = new Date(at);
  let t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), h, m);
  if (t > at) t -= 86_400_000;
  return t;
}

/** Waits until the replica holds everything Litestream took from the WAL. */
async function caughtUp(config: AtlasConfig, paths: AtlasPaths, ms = 600_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const s = await replicationStatus(config, paths);
    if (s.replicaTxid !== undefined && s.replicaTxid === s.localTxid && s.lagSeconds === 0) return;
    if (Date.now() > until) throw new Error(`the replica did not catch up in ${ms / 1000} s: ${JSON.stringify(s)}`);
    await sleep(250);
  }
}

/**
 * Samples `replication status` until `stop()`: per TXID, when the local position first reached it
 * and when the replica's did. Lag of a TXID = replica time − local time (sampling adds ≤ one period).
 */
function sampleLag(config: AtlasConfig, paths: AtlasPaths): { stop(): Promise<{ lags: number[]; reported: number[] }> } {
  const localSeen = new Map<bigint, number>();
  const lags: number[] = [];
  const reported: number[] = [];
  let replicaMax = 0n;
  let running = true;
  const loop = (async () => {
    while (running) {
      const t = Date.now();
      const s = await replicationStatus(config, paths).catch(() => undefined);
      if (s?.localTxid) {
        const local = BigInt(`0x${s.localTxid}`);
        // A TXID the replica already holds is not waiting: seen again, it must not be timed again.
        if (local > replicaMax && !localSeen.has(local)) localSeen.set(local, t);
      }
      if (s?.lagSeconds !== undefined) reported.push(s.lagSeconds * 1000);
      const r = s?.replicaTxid ? BigInt(`0x${s.replicaTxid}`) : 0n;
      if (r > replicaMax) {
        replicaMax = r;
        for (const [txid, at] of localSeen) {
          if (txid > r) continue;
          lags.push(Math.max(0, t - at));
          localSeen.delete(txid);
        }
      }
      await sleep(Math.max(0, 200 - (Date.now() - t)));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { lags, reported };
    },
  };
}

/** Option R's code path (activities/recovery.ts stageReplica + restoreStagedReplica), timed. */
async function recoverFromReplica(config: AtlasConfig, paths: AtlasPaths, replicator: Replicator, keepSuffix: string): Promise<{ ms: number; point: string }> {
  const staging = path.join(paths.dataDir, `.replica-staging-${keepSuffix}.db`);
  const { ms, value } = await timeAsync(async () => {
    const { point } = await restoreReplicaInto(config, paths, staging);
    const { problems } = await checkIntegrity(staging, { readonly: false, wal: true, privateFile: true, field: 'replica' });
    if (problems.length) throw new Error(`the replica's newest point fails integrity_check: ${problems.slice(0, 3).join('; ')}`);
    await restoreBackup({ backupFile: staging, target: paths.atlasDb, keepSuffix, replicator: replicatorControl(config, paths, replicator) });
    return point;
  });
  for (const f of fs.readdirSync(paths.dataDir)) if (f.startsWith('.replica-staging-') || f.includes('.corrupted-')) fs.rmSync(path.join(paths.dataDir, f), { force: true });
  return { ms, point: value };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-bench-replica-'));
  const home = path.join(dir, 'home');
  ensureHome(home);
  const paths = atlasPaths(home);
  const size = makeAtlasDb(paths.atlasDb, sizeMb);
  const s3 = await startDevS3Process(path.join(dir, 's3'));
  const config = loadConfig({ env: {}, overrides: { home, 'replica.endpoint': s3.url, 'replica.bucket': s3.bucket, host: 'bench' } });
  writeDevCredentials(config.replica.credentialsFile);
  const replicator = superviseLitestream(config, paths, { restartDelayMs: 500 });
  const out = (line = '') => process.stdout.write(`${line}\n`);
  out(`# continuous replica: ${mb(size)} atlas.db, Litestream → s3rver on 127.0.0.1, writer ${rate} commits/s, ${runs} runs, sync-interval ${config.replica.syncInterval} ms, ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, ${new Date().toISOString()}`);
  try {
    let t0 = performance.now();
    await caughtUp(config, paths);
    out(`initial snapshot shipped in ${secs(performance.now() - t0)}`);

    // Cost to the app: the same writer with Litestream paused, then running (paced, then flat out).
    const phase = async (on: boolean, writeRate: number | 'max') => {
      if (on) replicator.resume();
      else await replicator.pause();
      const w = await startWriter(paths.atlasDb, writeRate);
      await sleep(phaseS * 1000);
      return stopWriter(w);
    };
    const pacedOff = await phase(false, rate);
    const pacedOn = await phase(true, rate);
    // Flat out twice each, alternating, so that a change of the machine's load hits both sides.
    const both = (a: WriterStats, b: WriterStats): WriterStats => ({ ...a, writesPerSecond: (a.writesPerSecond + b.writesPerSecond) / 2, worstWriteMs: Math.max(a.worstWriteMs, b.worstWriteMs), writesOver50ms: a.writesOver50ms + b.writesOver50ms });
    const maxOff1 = await phase(false, 'max');
    const maxOn1 = await phase(true, 'max');
    const maxOff = both(maxOff1, await phase(false, 'max'));
    const maxOn = both(maxOn1, await phase(true, 'max'));
    await caughtUp(config, paths);

    // Lag in steady operation: the writer at the app's rate for lagS seconds, Litestream long
    // started (its first compactions, which carry the whole database, are behind it).
    const steadyWriter = await startWriter(paths.atlasDb, rate);
    const steadySampler = sampleLag(config, paths);
    await sleep(lagS * 1000);
    const steady = await steadySampler.stop();
    await stopWriter(steadyWriter);
    await caughtUp(config, paths);

    // Loss window and lag: runs of the writer killed at a random moment, atlas.db corrupted, Option R.
    const losses: number[] = [];
    const dailyLosses: number[] = [];
    const recoverMs: number[] = [];
    const lagSamples: number[] = [];
    const reportedLag: number[] = [];
    for (let i = 0; i < runs; i++) {
      const writer = await startWriter(paths.atlasDb, rate);
      const sampler = sampleLag(config, paths);
      await sleep(5000 + Math.random() * 10_000);
      writer.kill('SIGKILL');
      await new Promise((r) => writer.once('exit', r));
      const killedAt = Date.now();
      const lag = await sampler.stop();
      lagSamples.push(...lag.lags);
      reportedLag.push(...lag.reported);
      const lastCommit = newestWrite(paths.atlasDb);
      corrupt(paths.atlasDb);
      const r = await recoverFromReplica(config, paths, replicator, `corrupted-bench-${i}`);
      const restored = newestWrite(paths.atlasDb);
      losses.push(Math.max(0, lastCommit - restored));
      dailyLosses.push(killedAt - lastDailyBackup(config, killedAt));
      recoverMs.push(r.ms);
      out(`run ${i + 1}: last commit ${new Date(lastCommit).toISOString()}, restored up to ${new Date(restored).toISOString()} (replica point ${r.point}): lost ${secs(Math.max(0, lastCommit - restored))}; recovery ${secs(r.ms)}`);
      await caughtUp(config, paths);
    }

    // RTO at the same size: replica (Option R's path) vs a local backup (Option B's path) vs cp.
    const backups = path.join(dir, 'backups');
    const backup = await takeSnapshot({ source: paths.atlasDb, backupsDir: backups, reason: 'bench rto' });
    const raw = path.join(dir, 'raw-copy.db');
    t0 = performance.now();
    fs.copyFileSync(path.join(backups, backup.file), raw);
    fsyncPath(raw);
    const rawMs = performance.now() - t0;
    fs.rmSync(raw);
    corrupt(paths.atlasDb);
    const fromBackup = await timeAsync(() => restoreBackup({ backupFile: path.join(backups, backup.file), target: paths.atlasDb, keepSuffix: 'corrupted-bench-rto-b', replicator: replicatorControl(config, paths, replicator) }));
    for (const f of fs.readdirSync(paths.dataDir)) if (f.includes('.corrupted-')) fs.rmSync(path.join(paths.dataDir, f), { force: true });
    await caughtUp(config, paths);
    corrupt(paths.atlasDb);
    const fromReplica = await recoverFromReplica(config, paths, replicator, 'corrupted-bench-rto-r');

    const lossP95 = pct(losses, 95);
    const lagP99 = pct(steady.lags, 99);
    const tput = maxOn.writesPerSecond / maxOff.writesPerSecond;
    const pacedTput = pacedOn.writesPerSecond / pacedOff.writesPerSecond;
    // The stall goal is the app's: its writer at its own rate (flat out stalls with Litestream paused too).
    const stall = pacedOn.worstWriteMs;
    const h = (ms: number) => `${(ms / 3_600_000).toFixed(1)} h`;
    out();
    out('loss window (writer SIGKILLed at a random moment, atlas.db corrupted, recovered)');
    out(`  run                       ${losses.map((_, i) => String(i + 1).padStart(8)).join('')}`);
    out(`  option R (replica), lost  ${losses.map((x) => secs(x).padStart(8)).join('')}   p95 ${secs(lossP95)} (goal ≤ 1 s: ${met(lossP95 <= 1000)})`);
    out(`  option B (02:00 backup)   ${dailyLosses.map((x) => h(x).padStart(8)).join('')}   p95 ${h(pct(dailyLosses, 95))} (computed: what B would lose, everything since the last ${config.schedules.backup.text} UTC backup)`);
    out(`  recovery time (R)         ${recoverMs.map((x) => secs(x).padStart(8)).join('')}`);
    out();
    out(`replication lag under the writer (local position reached → replica position reached, replication status sampled every 200 ms; add up to sync-interval from commit to local position)`);
    out(`  steady, ${lagS} s (${steady.lags.length} TXIDs): p50 ${secs(pct(steady.lags, 50))}, p99 ${secs(lagP99)}, max ${secs(Math.max(...steady.lags))} (goal p99 ≤ 2 s: ${met(lagP99 <= 2000)})`);
    out(`    as replication status reports it (${steady.reported.length} samples): p50 ${secs(pct(steady.reported, 50))}, p99 ${secs(pct(steady.reported, 99))}`);
    out(`  in the runs above, just after each restore (${lagSamples.length} TXIDs; Litestream restarted, its first L1 compaction carries the whole database): p50 ${secs(pct(lagSamples, 50))}, p99 ${secs(pct(lagSamples, 99))}, max ${secs(Math.max(...lagSamples))}`);
    out(`    as replication status reports it (${reportedLag.length} samples): p50 ${secs(pct(reportedLag, 50))}, p99 ${secs(pct(reportedLag, 99))}`);
    out();
    out(`cost to the app (${phaseS} s per phase, Litestream paused vs running; flat out: 2 phases each, alternating)`);
    out(`  paced ${rate}/s   off ${pacedOff.writesPerSecond.toFixed(0)} commits/s, worst commit ${pacedOff.worstWriteMs.toFixed(1)} ms; on ${pacedOn.writesPerSecond.toFixed(0)} commits/s, worst commit ${pacedOn.worstWriteMs.toFixed(1)} ms, > 50 ms: ${pacedOn.writesOver50ms}`);
    out(`  flat out       off ${maxOff.writesPerSecond.toFixed(0)} commits/s, worst commit ${maxOff.worstWriteMs.toFixed(1)} ms; on ${maxOn.writesPerSecond.toFixed(0)} commits/s, worst commit ${maxOn.worstWriteMs.toFixed(1)} ms, > 50 ms: ${maxOn.writesOver50ms}`);
    out(`  throughput on / off: at ${rate}/s ${pacedTput.toFixed(2)} (goal ≥ 0.9: ${met(pacedTput >= 0.9)}); flat out ${tput.toFixed(2)} (goal ≥ 0.9: ${met(tput >= 0.9)})`);
    out(`  worst commit stall at ${rate}/s with replication on ${stall.toFixed(1)} ms, paused ${pacedOff.worstWriteMs.toFixed(1)} ms (goal ≤ 50 ms on: ${met(stall <= 50)})`);
    out();
    out(`RTO at ${mb(size)}`);
    out(`  raw cp + fsync               ${secs(rawMs)}`);
    out(`  local backup (option B path) ${secs(fromBackup.ms)}   ratio to cp ${(fromBackup.ms / rawMs).toFixed(2)}`);
    out(`  replica (option R path)      ${secs(fromReplica.ms)}   ratio to cp ${(fromReplica.ms / rawMs).toFixed(2)}, to the local backup ${(fromReplica.ms / fromBackup.ms).toFixed(2)}`);
    out(`load at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  } finally {
    await replicator.stop();
    await s3.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
