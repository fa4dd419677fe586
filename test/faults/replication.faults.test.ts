// Fault suite, the continuous replica (docs/safety.md#continuous-replica): real Litestream, a real
// S3 server (s3rver) and a real writer (another process committing a row every 100 ms). Each row
// ends the same way: the writer stopped, the replica caught up, the replica restored by Litestream
// into a scratch file, and "data lost" = the writer's committed rows missing from that restore.
import { describe, expect, it } from 'vitest';
import { atlasPaths } from '../../src/paths';
import type { HealthCheckOutcome } from '../../workflows/monitoring';
import { Atlas, startAtlas, type AtlasOptions } from '../helpers/atlas';
import { uid } from '../helpers/env';
import { startFaultyS3Proxy } from '../helpers/faulty-s3-proxy';
import { holdOpen, stopHolder } from '../helpers/holders';
import { caughtUp, restoreReplicaToScratch, rowsMissing, statusUntil, writerRowIds } from '../helpers/replica';
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
});
