// The source-built cluster against the dev server (issue 13, docs/performance.md#load), in one run:
// a health check end to end one at a time, then N concurrent health checks with one worker and
// with two (two Atlas hosts on one task queue, each check naming one host's queue alternately), and
// a maintenance's start-to-edit (pause, snapshot, checks, up to the edit wait) on a 200 MB atlas.db.
// p50 / p95 from start() to result, and the task timeouts found in the histories.
//
//   npx tsx bench/cluster.ts                          # 10 sequential, 30 concurrent (small: a shared machine)
//   npx tsx bench/cluster.ts --sequential=20 --concurrent=100 --maintenance-mb=200 --maintenance-runs=5
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { clusterDown, clusterUp, frontendAddress, readState } from '../src/cluster/cluster';
import { hostTaskQueue, loadConfig, type AtlasConfig } from '../src/config';
import { ensureHome } from '../src/home';
import { atlasPaths } from '../src/paths';
import { scheduleId } from '../src/schedules';
import { resumeSignal } from '../workflows/maintenance';
import { arg, makeAtlasDb } from './lib/atlas-db';
import { createStandInSchedules, untilEditWait } from './lib/maintenance-run';
import { listenOnPickedPort } from '../src/ports';
import { startDevServerOnPickedPorts } from '../src/temporal/dev-server';
import { createAtlasWorker, type AtlasWorker } from '../src/worker';
import { formatTimeouts, ms, percentile, timeouts } from './lib/load-stats';


interface Row {
  backend: string;
  load: string;
  latencies: number[];
  workflowTaskTimeouts: Record<string, number>;
  activityTimeouts: number;
}

async function healthChecks(client: Client, taskQueue: string, queues: string[], n: number, concurrent: boolean) {
  const one = async (i: number) => {
    const s = performance.now();
    const handle = await client.workflow.start('healthCheck', { taskQueue, workflowId: `bench-cluster-${Date.now()}-${i}`, args: [{ hostQueue: queues[i % queues.length] }] });
    await handle.result();
    return { ms: performance.now() - s, workflowId: handle.workflowId, runId: handle.firstExecutionRunId };
  };
  const runs = [];
  if (concurrent) runs.push(...(await Promise.all(Array.from({ length: n }, (_, i) => one(i)))));
  else for (let i = 0; i < n; i++) runs.push(await one(i));
  const found = await timeouts(client, runs);
  return { latencies: runs.map((r) => r.ms), workflowTaskTimeouts: found.workflowTask, activityTimeouts: found.activity };
}

/**
 * Maintenance start-to-edit on its own host: from start() until the status says it waits for the
 * edit; then resumed and awaited, its backup removed before the next run.
 */
async function maintenanceStartToEdit(client: Client, config: AtlasConfig, runs: number) {
  await createStandInSchedules(client, config);
  const runIds: { workflowId: string; runId?: string }[] = [];
  const latencies: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const handle = await client.workflow.start('maintenance', { taskQueue: config.taskQueue, workflowId: `bench-cluster-maint-${Date.now()}-${i}`, args: [{ reason: 'bench', hostQueue: hostTaskQueue(config) }] });
      await untilEditWait(handle);
      latencies.push(performance.now() - t0);
      await handle.signal(resumeSignal, { by: 'bench' });
      await handle.result();
      runIds.push({ workflowId: handle.workflowId, runId: handle.firstExecutionRunId });
      const backups = atlasPaths(config.home).backupsDir;
      for (const f of fs.readdirSync(backups)) fs.rmSync(path.join(backups, f), { force: true });
    }
  } finally {
    for (const name of ['export', 'import', 'backup']) await client.schedule.getHandle(scheduleId(config, name)).delete().catch(() => undefined);
  }
  const found = await timeouts(client, runIds);
  return { latencies, workflowTaskTimeouts: found.workflowTask, activityTimeouts: found.activity };
}

async function measure(backend: string, address: string, scratch: string, sheetsUrl: string, sequential: number, concurrent: number, maintenance: { mb: number; runs: number }): Promise<Row[]> {
  const queue = `bench-cluster-${backend}`;
  const configs: AtlasConfig[] = ['vm-a', 'vm-b', 'vm-m'].map((host) => {
    const home = path.join(scratch, `${backend}-${host}`);
    ensureHome(home, { demo: true, seedTasks: 1000 });
    return loadConfig({ env: {}, overrides: { home, 'temporal.address': address, taskQueue: queue, host, scheduleIdPrefix: `bench-${backend}-${host}-`, 'sheets.rootUrl': sheetsUrl } });
  });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const workers: { worker: AtlasWorker; running: Promise<void> }[] = [];
  const start = async (config: AtlasConfig) => {
    const worker = await createAtlasWorker(config, { client });
    workers.push({ worker, running: worker.run() });
  };
  const rows: Row[] = [];
  try {
    const a = [hostTaskQueue(configs[0]!)];
    await start(configs[0]!);
    await healthChecks(client, queue, a, 1, false); // warm-up
    rows.push({ backend, load: `${sequential} health checks, one at a time`, ...(await healthChecks(client, queue, a, sequential, false)) });
    rows.push({ backend, load: `${concurrent} concurrent health checks, one worker`, ...(await healthChecks(client, queue, a, concurrent, true)) });
    await start(configs[1]!);
    const both = configs.slice(0, 2).map((c) => hostTaskQueue(c));
    await healthChecks(client, queue, both, 2, true); // warm-up of the second worker
    rows.push({ backend, load: `${concurrent} concurrent health checks, two workers (two hosts)`, ...(await healthChecks(client, queue, both, concurrent, true)) });
    if (maintenance.runs > 0) {
      const m = configs[2]!;
      makeAtlasDb(atlasPaths(m.home).atlasDb, maintenance.mb);
      await start(m);
      rows.push({ backend, load: `maintenance start-to-edit, ${maintenance.mb} MB atlas.db (${maintenance.runs} runs)`, ...(await maintenanceStartToEdit(client, m, maintenance.runs)) });
    }
  } finally {
    for (const w of workers) w.worker.shutdown();
    await Promise.all(workers.map((w) => w.running));
    await connection.close();
  }
  return rows;
}

async function main() {
  const sequential = arg('sequential', 10);
  const concurrent = arg('concurrent', 30);
  const maintenance = { mb: arg('maintenance-mb', 200), runs: arg('maintenance-runs', 3) };
  console.log(`# cluster vs dev server: ${sequential} sequential and ${concurrent} concurrent health checks, maintenance start-to-edit at ${maintenance.mb} MB; ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}, ${new Date().toISOString()}`);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-bench-cluster-'));
  // The cluster's PostgreSQL runs as an unprivileged user, which must pass through to its directory.
  fs.chmodSync(scratch, 0o711);
  // A reachable "Sheets endpoint" on loopback: health checks measure the system, not DNS.
  const sheets = http.createServer((_q, r) => r.writeHead(204).end());
  const sheetsUrl = `http://127.0.0.1:${await listenOnPickedPort(sheets)}/`;
  const dev = await startDevServerOnPickedPorts({ headless: true, dbFile: path.join(scratch, 'temporal.db') });
  const clusterDir = path.join(scratch, 'cluster');
  const rows: Row[] = [];
  try {
    const t0 = performance.now();
    await clusterUp({ dir: clusterDir, pickPorts: true });
    console.log(`cluster up (from an empty directory): ${ms(performance.now() - t0)}`);
    rows.push(...(await measure('dev', dev.address, scratch, sheetsUrl, sequential, concurrent, maintenance)));
    rows.push(...(await measure('cluster', frontendAddress(readState(clusterDir)!), scratch, sheetsUrl, sequential, concurrent, maintenance)));
  } finally {
    await clusterDown(clusterDir);
    await dev.stop();
    sheets.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  console.log('\n| load | backend | p50 | p95 | max | cluster / dev (p50) | WorkflowTaskTimedOut | ActivityTaskTimedOut |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const anchor = rows.find((x) => x.backend === 'dev' && x.load === r.load)!;
    const ratio = r.backend === 'dev' ? '1.00×' : `${(percentile(r.latencies, 50) / percentile(anchor.latencies, 50)).toFixed(2)}×`;
    console.log(`| ${r.load} | ${r.backend} | ${ms(percentile(r.latencies, 50))} | ${ms(percentile(r.latencies, 95))} | ${ms(Math.max(...r.latencies))} | ${ratio} | ${formatTimeouts(r.workflowTaskTimeouts)} | ${r.activityTimeouts} |`);
  }
  console.log('\nLatency: healthCheck from client start() to result; maintenance from start() until its status waits for the edit.');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
