// Fault suite, the continuous replica (docs/safety.md#continuous-replica): real Litestream, a real
// S3 server (s3rver) and a real writer (another process committing a row every 100 ms). "Data
// lost" is counted against what was committed: for the replication faults (Litestream SIGKILLed,
// S3 stopped, S3 answering 500/503) the writer's rows missing from a restore of the replica once
// it has caught up; for Option R under SIGKILL the writer's rows missing from the recovered
// atlas.db; for disk full during a replica restore, whether atlas.db changed at all.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { atlasPaths } from '../../src/paths';
import { checkpointDatabase } from '../../src/db/check';
import type { CorruptionRecoveryResult } from '../../workflows/corruption-recovery';
import { sizeOf } from '../../src/db/sqlite';
import { decisionSignal, statusQuery } from '../../workflows/lib/procedure';
import type { RestoreWorkflowResult } from '../../workflows/restore';
import type { HealthCheckOutcome } from '../../workflows/monitoring';
import { Atlas, startAtlas, type AtlasOptions } from '../helpers/atlas';
import { eventually, uid } from '../helpers/env';
import { addBallast, canMountTmpfs, fillFile } from '../helpers/tmpfs';
import { startFaultyS3Proxy } from '../helpers/faulty-s3-proxy';
import { zeroHeader } from '../helpers/corrupt';
import { holdOpen, stopHolder } from '../helpers/holders';
import { replicatorUnit } from '../helpers/replicator-unit';
import { caughtUp, restoreReplicaToScratch, rowsMissing, statusUntil, writerRowIds } from '../helpers/replica';
import { expectDbHoldReleased, faultWorker, repeatedProcedureEvents, type FaultWorker } from './checks';
import { startRecovery } from './recovery-checks';
import { recordFault } from './report';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `fault` on `t` while a real writer commits, then stops the writer and measures the rows it
 * committed that a restore of the replica lacks (after the replica has caught up). Records the row.
 */
async function underWriter(name: string, t: Atlas, fault: () => Promise<void>): Promise<void> {
  const paths = atlasPaths(t.home);
  const writer = await holdOpen(paths.atlasDb);
  let survived = false;
  let dataLost = 0;
  try {
    await sleep(1500);
    await fault();
    // A second more of writes after the fault, then the writer stops.
    await sleep(1000);
    await stopHolder(writer);
    const live = writerRowIds(paths.atlasDb);
    expect(live.length).toBeGreaterThan(10);
    // Litestream takes the last commits from the WAL within a sync interval, then ships them.
    await sleep(1500);
    const s = await statusUntil(t.config, paths, caughtUp, 90_000);
    expect(caughtUp(s), JSON.stringify(s)).toBe(true);
    const restored = await restoreReplicaToScratch(t.config, paths);
    try {
      dataLost = rowsMissing(live, writerRowIds(restored.file));
    } finally {
      restored.cleanup();
    }
    expect(dataLost, 'rows the writer committed that the replica lacks').toBe(0);
    survived = true;
  } catch (err) {
    dataLost ||= writerRowIds(paths.atlasDb).length;
    throw err;
  } finally {
    recordFault({ fault: `replication: ${name}`, survived, dataLost });
    await stopHolder(writer);
  }
}

async function healthCheck(t: Atlas): Promise<HealthCheckOutcome> {
  return t.client.workflow.execute('healthCheck', { taskQueue: t.config.taskQueue, workflowId: `health-${t.id}-${uid()}`, args: [{}] }) as Promise<HealthCheckOutcome>;
}

const REPLICA: AtlasOptions = { replica: true };

const MB = 1 << 20;
const digest = (file: string) => (fs.existsSync(file) ? createHash('sha256').update(fs.readFileSync(file)).digest('hex') : 'absent');
const freeBytes = (dir: string) => {
  const s = fs.statfsSync(dir);
  return s.bavail * s.bsize;
};
/** What a replica restore leaves in data/ while it works: the hidden rebuilt file, the staging copy, a replaced file. */
const restoreLeftovers = (dataDir: string) => fs.readdirSync(dataDir).filter((f) => f.startsWith('.replica-') || f.startsWith('atlas.db.restored') || f.startsWith('atlas.db.replaced-'));

/**
 * data/ on a real 32 MB tmpfs holding what it held (atlas.db about 2 MB of ballast, ops.db,
 * Litestream's local state), moved there with Litestream stopped and before the worker opens ops.db.
 */
async function dataOnTmpfs(a: Atlas): Promise<void> {
  const paths = atlasPaths(a.home);
  addBallast(paths.atlasDb);
  await a.replica.replicator.pause();
  const saved = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-data-'));
  execFileSync('cp', ['-a', `${paths.dataDir}/.`, saved]);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${32 * MB}`, 'tmpfs', paths.dataDir]);
  a.defer(() => execFileSync('umount', ['-l', paths.dataDir]));
  execFileSync('cp', ['-a', `${saved}/.`, paths.dataDir]);
  fs.rmSync(saved, { recursive: true, force: true });
  a.replica.replicator.resume();
}

// Concurrent: each case has its own home, S3 server and Litestream, and mostly waits on sync intervals.
describe.concurrent('the continuous replica under faults', { timeout: 240_000 }, () => {
  it('SIGKILL of Litestream mid-sync, three times while the writer commits: restarted by its supervisor, no gap', async () => {
    const t = await startAtlas(REPLICA);
    try {
      await underWriter('SIGKILL of Litestream mid-sync', t, async () => {
        for (let kill = 0; kill < 3; kill++) {
          // At a different moment of the 1 s sync cycle each time.
          await sleep(700 + kill * 450);
          const pid = t.replica.replicator.pid();
          expect(pid, 'Litestream runs').toBeDefined();
          process.kill(pid!, 'SIGKILL');
          const until = Date.now() + 30_000;
          while ((t.replica.replicator.pid() ?? pid) === pid && Date.now() < until) await sleep(100);
          expect(t.replica.replicator.pid(), 'restarted by the supervisor').not.toBe(pid);
        }
      });
    } finally {
      await t.cleanup();
    }
  });

  it('the S3 server stopped for 20 s (the issue says 2 min; the thresholds are scaled down) while the app writes: lag alert raised, resolved once back, no gap', async () => {
    const t = await startAtlas({ ...REPLICA, worker: true, webhook: true, sheetsEndpoint: (_req, res) => res.writeHead(404).end(), overrides: { 'thresholds.replicationLag': '4s', 'thresholds.replicationLagCritical': '12s' } });
    try {
      await underWriter('S3 server stopped while the app writes', t, async () => {
        await t.replica.stopS3();
        const down = Date.now();
        let raised: string | undefined;
        while (Date.now() - down < 20_000) {
          const lag = (await healthCheck(t)).metrics.find((m) => m.metric === 'replication_lag_seconds');
          if (lag && lag.ok === false) raised ??= lag.level;
          await sleep(1000);
        }
        expect(raised, 'the lag alert is raised during the outage').toBeDefined();
        await t.replica.startS3();
        const s = await statusUntil(t.config, atlasPaths(t.home), caughtUp, 90_000);
        expect(caughtUp(s), JSON.stringify(s)).toBe(true);
        const back = await healthCheck(t);
        expect(back.metrics.find((m) => m.metric === 'replication_lag_seconds')).toMatchObject({ ok: true });
        expect(back.resolved).toContain('health:replication_lag_seconds');
      });
    } finally {
      await t.cleanup();
    }
  });

  it('S3 answering 500, then 503 (a fault-injecting proxy in front of s3rver): replication recovers, no gap', async () => {
    // The proxy comes first (its URL is the replica endpoint), the S3 server with the Atlas.
    const started: { atlas?: Atlas } = {};
    const proxy = await startFaultyS3Proxy(() => {
      try {
        return started.atlas?.replica.s3?.url;
      } catch {
        return undefined; // the harness has not started the S3 server yet
      }
    });
    started.atlas = new Atlas({ ...REPLICA, overrides: { 'replica.endpoint': proxy.url } });
    const t = await started.atlas.start();
    try {
      await underWriter('S3 answering 500 and 503', t, async () => {
        for (const status of [500, 503] as const) {
          proxy.failNext(20, status);
          const until = Date.now() + 60_000;
          while (proxy.pending() > 0 && Date.now() < until) await sleep(200);
          expect(proxy.failed[status], `20 requests answered ${status}`).toBe(20);
        }
      });
    } finally {
      await t.cleanup();
      await proxy.close();
    }
  });

  // The fill leaves too little room for Litestream's rebuild of the replica (about the size of
  // atlas.db), or room for the rebuild but not for the staging copy made from it.
  for (const [where, room] of [["Litestream's rebuild of the point", 0.5], ['the staging copy', 1.5]] as const) {
    it.skipIf(!canMountTmpfs())(`disk full during ${where} of a replica restore: nothing swapped, space given back, atlas.db byte-identical`, async () => {
      const t = await startAtlas({ ...REPLICA, worker: true, prepare: dataOnTmpfs });
      const paths = atlasPaths(t.home);
      let survived = false;
      let dataLost = 0;
      const before = { db: '', wal: '' };
      try {
        const s = await statusUntil(t.config, paths, caughtUp, 60_000);
        expect(caughtUp(s), JSON.stringify(s)).toBe(true);
        const filler = path.join(paths.dataDir, 'filler');
        fillFile(filler, freeBytes(paths.dataDir) - Math.round(room * sizeOf(paths.atlasDb)));
        const free = freeBytes(paths.dataDir);
        Object.assign(before, { db: digest(paths.atlasDb), wal: digest(`${paths.atlasDb}-wal`) });

        const handle = await t.client.workflow.start('restore', { taskQueue: t.config.taskQueue, workflowId: `restore-replica-full-${uid()}`, args: [{ replica: true, decisionTimeout: '10m' }] });
        const failed = await eventually(async () => (await handle.query(statusQuery)).failedStep, 150_000, 'the restore step to fail');
        expect(failed.step).toBe('restore');
        expect(failed.error).toMatch(/ENOSPC|no space|disk full|SQLITE_FULL/i);
        // Nothing swapped, nothing left: the hidden rebuilt file and the staging copy are gone.
        expect(restoreLeftovers(paths.dataDir)).toEqual([]);
        expect({ db: digest(paths.atlasDb), wal: digest(`${paths.atlasDb}-wal`) }).toEqual(before);
        expect(freeBytes(paths.dataDir)).toBeGreaterThanOrEqual(free - MB / 4);

        // Space freed, the operator says retry: the restore completes from the replica.
        fs.rmSync(filler);
        await handle.signal(decisionSignal, { decision: 'retry', by: 'fault-suite' });
        const r = (await handle.result()) as RestoreWorkflowResult;
        expect(r.outcome).toBe('completed');
        expect(restoreLeftovers(paths.dataDir).filter((f) => !f.startsWith('atlas.db.replaced-'))).toEqual([]);
        survived = true;
      } catch (err) {
        // Data lost: atlas.db changed while nothing was to be swapped.
        if (before.db && digest(paths.atlasDb) !== before.db && !survived) dataLost = 1;
        throw err;
      } finally {
        recordFault({ fault: `replication: disk full during ${where} of a replica restore`, survived, dataLost });
        await t.cleanup();
      }
    });
  }
});

/**
 * Option R's steps (no WAL is left, so Option A is skipped): the replicator stopped, the replica
 * rebuilt into a staging file and checked (also killed 300 ms into it, while Litestream rebuilds),
 * the swap, the check after it, the replicator started again from the recovered file.
 */
const R_POINTS = ['pauseReplicator:after', 'stageReplica:before', 'stageReplica:during:300', 'stageReplica:after', 'restoreStagedReplica:before', 'restoreStagedReplica:after', 'checkAtlasDb#2:after', 'resumeReplicator:after'];

// Concurrent: each case mostly waits for Temporal to notice the dead worker (activity timeouts).
describe.concurrent('corruption recovery, Option R, with the worker SIGKILLed at each step', { timeout: 420_000 }, () => {
  for (const point of R_POINTS) {
    it(`completes on a fresh worker with every row up to the replica's point, swapped once, when the worker dies at ${point}`, async () => {
      const t = await startAtlas(REPLICA);
      const paths = atlasPaths(t.home);
      // The worker is a child process: it stops and starts the replicator as the systemd unit it is in production.
      const unit = replicatorUnit(t.config.replica.unit);
      const env = { ...t.replica.env, PATH: `${unit.bin}${path.delimiter}${process.env.PATH}` };
      const unitEnv = { ...t.env, ...env };
      let worker: FaultWorker | undefined;
      let survived = false;
      let dataLost = 0;
      let before: number[] = [];
      try {
        await t.replica.replicator.stop();
        unit.systemctl('start', unitEnv);
        const writer = await holdOpen(paths.atlasDb);
        await sleep(2000);
        await stopHolder(writer);
        before = writerRowIds(paths.atlasDb);
        await sleep(1500);
        const s = await statusUntil(t.config, paths, caughtUp, 90_000);
        expect(caughtUp(s), JSON.stringify(s)).toBe(true);
        // Damage only the replica (or a backup) undoes: everything folded into the main file with
        // the replicator stopped, then its header zeroed.
        unit.systemctl('stop', unitEnv);
        expect(checkpointDatabase(paths.atlasDb)).toMatchObject({ ok: true });
        expect(fs.existsSync(`${paths.atlasDb}-wal`)).toBe(false);
        zeroHeader(paths.atlasDb);
        const corrupt = digest(paths.atlasDb);

        worker = faultWorker(t, env, point);
        const handle = await startRecovery(t, point, false);
        await worker.restarted(point);
        const r = (await handle.result()) as CorruptionRecoveryResult;
        expect(r.outcome).toBe('completed');
        expect(r.method).toBe('R');
        dataLost = rowsMissing(before, writerRowIds(paths.atlasDb));
        expect(dataLost, 'rows committed before the corruption missing after the recovery').toBe(0);
        // Swapped once: one kept copy of atlas.db, and it is the corrupt file (a second swap would have kept the restored one).
        const kept = fs.readdirSync(paths.dataDir).filter((f) => /^atlas\.db\.corrupted-\d{8}-\d{6}$/.test(f));
        expect(kept).toHaveLength(1);
        expect(digest(path.join(paths.dataDir, kept[0]!))).toBe(corrupt);
        expect(fs.readdirSync(paths.dataDir).filter((f) => f.startsWith('.replica-') || f.startsWith('atlas.db.restored'))).toEqual([]);
        expect(unit.pid(), 'the replicator runs again').toBeDefined();
        expectDbHoldReleased(t);
        expect(repeatedProcedureEvents(t, r.workflowId)).toEqual([]);
        survived = true;
      } catch (err) {
        if (!survived && before.length && !dataLost) {
          try {
            dataLost = rowsMissing(before, writerRowIds(paths.atlasDb));
          } catch {
            dataLost = before.length;
          }
        }
        throw err;
      } finally {
        recordFault({ fault: `corruptionRecovery R: SIGKILL ${point}`, survived, dataLost });
        worker?.stop();
        unit.remove(unitEnv);
        await t.cleanup();
      }
    });
  }
});
