// The continuous replica against real Litestream and a real S3 server (s3rver), both started by
// the harness on ports from src/ports.ts: writes reach the replica (restored into a scratch file
// and compared row by row), `replication status`, checkpoints that leave Litestream alone, and
// the lag metrics raised and resolved across an S3 outage.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { withDatabase } from '../src/db/sqlite';
import { takeSnapshot } from '../src/db/snapshot';
import { checkpointDatabase } from '../src/db/check';
import type { CorruptionRecoveryResult } from '../workflows/corruption-recovery';
import { zeroHeader } from './helpers/corrupt';
import { drTest, type ReplicaDrResult } from '../src/reports/restore-tests';
import { openOpsDb } from '../src/db/ops-db';
import { atlasPaths } from '../src/paths';
import type { ReplicationStatus } from '../src/replication/status';
import type { HealthCheckOutcome } from '../workflows/monitoring';
import { useAtlas } from './helpers/atlas';
import { runCli } from './helpers/env';
import { caughtUp, restoreReplicaToScratch, statusUntil as statusUntilShared } from './helpers/replica';

const t = useAtlas({
  replica: true,
  worker: true,
  webhook: true,
  sheetsEndpoint: (_req, res) => res.writeHead(404).end(),
  // Small thresholds, so that an outage of seconds crosses both.
  overrides: { 'thresholds.replicationLag': '4s', 'thresholds.replicationLagCritical': '12s' },
});

const paths = () => atlasPaths(t.home);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function write(n: number): void {
  withDatabase(paths().atlasDb, {}, (db) => {
    db.exec('CREATE TABLE IF NOT EXISTS replication_probe (id INTEGER PRIMARY KEY, at TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO replication_probe (at) VALUES (?)');
    for (let i = 0; i < n; i++) insert.run(new Date().toISOString());
  });
}

function rows(file: string): { probe: unknown[]; tasks: unknown[] } {
  return withDatabase(file, { readonly: true }, (db) => ({
    probe: db.prepare('SELECT * FROM replication_probe ORDER BY id').all(),
    tasks: db.prepare('SELECT * FROM tasks ORDER BY id').all(),
  }));
}

const statusUntil = (done: (s: ReplicationStatus) => boolean, ms?: number) => statusUntilShared(t.config, paths(), done, ms);

/** Restores the replica's newest point into a scratch file, with Litestream itself. */
const restoreReplica = async (): Promise<string> => (await restoreReplicaToScratch(t.config, paths())).file;

/**
 * Writes `n` rows, then waits until Litestream has taken them from the WAL and the replica holds
 * them. The position before the write is taken once Litestream has one and the replica holds it:
 * read earlier (a replicator still starting), the snapshot of the database as it was before the
 * write already counted as "past it", and a restore then lacked the rows (seen on CI).
 */
async function writeAndWait(n: number, ms = 60_000): Promise<ReplicationStatus> {
  const settled = await statusUntil(caughtUp, ms);
  expect(settled.localTxid, `Litestream has no position yet: ${JSON.stringify(settled)}`).toBeDefined();
  const before = settled.localTxid!;
  write(n);
  return statusUntil((s) => caughtUp(s) && s.replicaTxid! > before, ms);
}

async function healthCheck(): Promise<HealthCheckOutcome> {
  return t.client.workflow.execute('healthCheck', {
    taskQueue: t.config.taskQueue,
    workflowId: `health-${t.id}-${Math.random().toString(36).slice(2, 8)}`,
    args: [{}],
  }) as Promise<HealthCheckOutcome>;
}

describe('continuous replication of atlas.db', () => {
  it('ships every committed write to the replica: a restore from it has the same rows', async () => {
    const s = await writeAndWait(25);
    expect(s).toMatchObject({ state: 'running', replicatorAlive: true, lagSeconds: 0 });
    const restored = await restoreReplica();
    const live = rows(paths().atlasDb);
    expect(live.probe).toHaveLength(25);
    expect(rows(restored)).toEqual(live);
  });

  it('replication status: running, lag at most 2 s, the replica URL without keys, position and restorable range', async () => {
    // Shipped first: a fixed pause raced Litestream on a loaded machine, and the lag it reports is
    // the age of the oldest write not yet shipped.
    await writeAndWait(3);
    const res = await runCli(t, ['replication', 'status', '--json'], t.replica.env);
    expect(res.code, res.stderr).toBe(0);
    const s = JSON.parse(res.stdout) as ReplicationStatus;
    expect(s.state).toBe('running');
    expect(s.lagSeconds).toBeLessThanOrEqual(2);
    expect(s.replicaUrl).toBe(`s3://${t.replica.s3!.bucket}/atlas?endpoint=${t.replica.s3!.url}&region=us-east-1`);
    expect(s.replicaTxid).toMatch(/^[0-9a-f]{16}$/);
    expect(Date.parse(s.oldestRestorableAt!)).toBeLessThanOrEqual(Date.parse(s.newestRestorableAt!));
    expect(res.stdout).not.toContain('S3RVER');
    const text = await runCli(t, ['replication', 'status'], t.replica.env);
    expect(text.stdout).toMatch(/^replication: running/);
  });

  it('db checkpoint while Litestream replicates is PASSIVE and leaves replication intact', async () => {
    write(10);
    const res = await runCli(t, ['db', 'checkpoint', '--json'], t.replica.env);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ ok: true, mode: 'PASSIVE' });
    await writeAndWait(5);
    expect(rows(await restoreReplica())).toEqual(rows(paths().atlasDb));
  });

  it('an S3 outage raises the lag warning, then critical, and resolves both once it is back, with no gap', async () => {
    await t.replica.stopS3();
    let warned: HealthCheckOutcome | undefined;
    let critical: HealthCheckOutcome | undefined;
    const until = Date.now() + 90_000;
    while (!critical && Date.now() < until) {
      write(2);
      const r = await healthCheck();
      const lag = r.metrics.find((m) => m.metric === 'replication_lag_seconds')!;
      expect(lag, 'the lag metric is measured').toBeDefined();
      if (lag.ok === false && lag.level === 'warning') warned ??= r;
      if (lag.ok === false && lag.level === 'critical') critical = r;
      await sleep(500);
    }
    expect(warned, 'a warning before critical').toBeDefined();
    expect(critical, 'critical within 90 s').toBeDefined();
    // Litestream itself kept running: only the replica was out of reach.
    expect(critical!.metrics.find((m) => m.metric === 'replicator_alive')).toMatchObject({ value: 1, ok: true });

    await t.replica.startS3();
    await writeAndWait(1);
    const back = await healthCheck();
    expect(back.metrics.find((m) => m.metric === 'replication_lag_seconds')).toMatchObject({ ok: true });
    expect(back.resolved).toContain('health:replication_lag_seconds');
    const ops = openOpsDb(paths().opsDb);
    try {
      const alert = ops.prepare("SELECT level, resolved_at FROM alerts WHERE code = 'health:replication_lag_seconds' ORDER BY id DESC").get() as { level: string; resolved_at: string | null };
      expect(alert.level).toBe('critical');
      expect(alert.resolved_at).not.toBeNull();
    } finally {
      ops.close();
    }
    // Every write made during the outage is in the replica.
    expect(rows(await restoreReplica())).toEqual(rows(paths().atlasDb));
  }, 180_000);

  it('db restore --replica --at restores that point through the restore workflow, keeps the replaced file, and replication goes on from it', async () => {
    await writeAndWait(4);
    // LTX times are kept to the second: the point is taken a second after the write, the next write a second later.
    await sleep(1100);
    const at = new Date().toISOString();
    const atPoint = rows(paths().atlasDb);
    await sleep(1100);
    await writeAndWait(6);
    expect(rows(paths().atlasDb).probe.length).toBe(atPoint.probe.length + 6);

    const res = await runCli(t, ['--json', 'db', 'restore', '--replica', '--at', at, '--wait'], t.replica.env, 180_000);
    expect(res.code, res.stderr + res.stdout).toBe(0);
    const result = JSON.parse(res.stdout) as { result?: { keptAs: string[]; backup: string } };
    expect(result.result?.backup).toBe(`replica at ${at}`);
    expect(rows(paths().atlasDb)).toEqual(atPoint);
    const kept = result.result!.keptAs.find((f) => !/-(wal|shm|journal)$/.test(f))!;
    expect(fs.existsSync(kept)).toBe(true);
    expect(rows(kept).probe.length).toBe(atPoint.probe.length + 6);
    // No rebuilt file left behind in data/.
    expect(fs.readdirSync(paths().dataDir).filter((f) => f.startsWith('.replica-'))).toEqual([]);

    // The replicator was restarted from the restored file: a write after the swap reaches the replica.
    const s = await writeAndWait(3);
    expect(s).toMatchObject({ state: 'running', replicatorAlive: true });
    expect(rows(await restoreReplica())).toEqual(rows(paths().atlasDb));
  }, 240_000);

  it('db restore --replica --at outside the restorable range is refused naming the range, nothing changed', async () => {
    const before = fs.readFileSync(paths().atlasDb);
    const early = await runCli(t, ['db', 'restore', '--replica', '--at', '2001-01-01T00:00:00Z'], t.replica.env);
    expect(early.code).toBe(2);
    expect(early.stderr).toMatch(/--at: 2001-01-01T00:00:00Z is before the oldest restorable point \S+ \(restorable: \S+ to now\)/);
    const future = await runCli(t, ['db', 'restore', '--replica', '--at', '2999-01-01T00:00:00Z'], t.replica.env);
    expect(future.code).toBe(2);
    expect(future.stderr).toMatch(/--at: 2999-01-01T00:00:00Z is in the future \(restorable: \S+ to now/);
    const both = await runCli(t, ['db', 'restore', 'atlas_20990101-000000.db', '--replica'], t.replica.env);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give one source, not both');
    const off = await runCli(t, ['db', 'restore', '--replica']);
    expect(off.code).toBe(2);
    expect(off.stderr).toContain('--replica: replication is not configured');
    expect(fs.readFileSync(paths().atlasDb).equals(before)).toBe(true);
  });

  it('corruption recovery weighs R against B by the data lost, measured, chooses R, and replication goes on', async () => {
    const backup = await takeSnapshot({ source: paths().atlasDb, backupsDir: paths().backupsDir, reason: 'older than the replica' });
    await sleep(2500);
    await writeAndWait(7);
    const before = rows(paths().atlasDb);
    // Damage Option A cannot undo: everything folded into the main file (Litestream stopped, so the
    // checkpoint is complete and the last close removes the WAL), then its header zeroed.
    await t.replica.replicator.pause();
    expect(checkpointDatabase(paths().atlasDb)).toMatchObject({ ok: true });
    expect(fs.existsSync(`${paths().atlasDb}-wal`)).toBe(false);
    zeroHeader(paths().atlasDb);
    const res = await runCli(t, ['--json', 'recover', 'corruption', '--no-oci', '--wait'], t.replica.env, 240_000);
    expect(res.code, res.stderr + res.stdout).toBe(0);
    const r = (JSON.parse(res.stdout) as { result: CorruptionRecoveryResult }).result;
    expect(r.method).toBe('R');
    expect(r.choice?.chosen).toBe('R');
    const byOption = Object.fromEntries(r.choice!.candidates.map((c) => [c.option, c]));
    expect(byOption.R).toMatchObject({ available: true });
    expect(byOption.B).toMatchObject({ available: true });
    expect(byOption.R!.dataLossWindowMs!).toBeLessThan(byOption.B!.dataLossWindowMs!);
    expect(byOption.B!.why).toContain(path.basename(backup.file));
    expect(r.choice!.why).toMatch(/^R loses .* of writes, B /);
    // Everything committed before the corruption is back (the replica had caught up).
    expect(rows(paths().atlasDb)).toEqual(before);
    expect(fs.readdirSync(paths().dataDir).filter((f) => f.startsWith('.replica-'))).toEqual([]);
    const s = await writeAndWait(2);
    expect(s).toMatchObject({ state: 'running', replicatorAlive: true });
    expect(rows(await restoreReplica())).toEqual(rows(paths().atlasDb));
  }, 300_000);

  it('the monthly DR test also restores the replica and reports RPO (loss window against live) and RTO', async () => {
    await takeSnapshot({ source: paths().atlasDb, backupsDir: paths().backupsDir, reason: 'dr test' });
    await writeAndWait(3);
    const ops = openOpsDb(paths().opsDb);
    try {
      const report = await drTest({ config: t.config, paths: paths(), ops, now: new Date() });
      const replica = (report.data as { replica: ReplicaDrResult }).replica;
      expect(replica).toMatchObject({ checked: true, ok: true });
      expect(replica.restoreMs).toBeGreaterThan(0);
      // Caught up a moment ago: the replica is at most a few seconds behind and misses no row.
      expect(replica.lossWindowMs).toBeLessThan(10_000);
      expect(Object.values(replica.rowsBehind!).every((n) => n === 0)).toBe(true);
      expect(report.markdown.join('\n')).toContain('(RPO)');
    } finally {
      ops.close();
    }
  });
});

