// Health check end to end (docs/performance.md#health-check: under 1 s; the 15-minute check, plus the daily deep check for information) on an atlas.db of N tasks (default 1 million):
// workflow start → result on a real dev server and worker, side by side with the same measurements
// made directly in this process (no orchestration). The database is built once and kept in the
// temp folder for the next run.
//
//   npx tsx bench/health.ts --tasks=1000000 --runs=5
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../src/config';
import { migrateAtlas } from '../src/db/atlas-schema';
import { seedDemo } from '../src/db/demo-seed';
import { openOpsDb } from '../src/db/ops-db';
import { openDatabase } from '../src/db/sqlite';
import { collectHealth } from '../src/health/collect';
import { ensureHome } from '../src/home';
import { atlasPaths } from '../src/paths';
import { startDevServerOnPickedPorts } from '../src/temporal/dev-server';
import { createAtlasWorker } from '../src/worker';
import type { HealthCheckOutcome } from '../workflows/monitoring';
import { listenOnPickedPort } from '../src/ports';
import { arg } from './lib/atlas-db';

const TARGET_MS = 1000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const f = (ms: number) => `${ms.toFixed(0)} ms`;

/** The home with N seeded tasks, built once per size. */
function benchHome(tasks: number): string {
  const home = path.join(os.tmpdir(), `atlas-bench-health-${tasks}`);
  const paths = atlasPaths(home);
  if (fs.existsSync(path.join(home, '.complete'))) return home;
  fs.rmSync(home, { recursive: true, force: true });
  ensureHome(home);
  const t0 = performance.now();
  const db = openDatabase(paths.atlasDb, { create: true, wal: true });
  db.pragma('synchronous = OFF');
  migrateAtlas(db);
  // In chunks, so a million rows never sit in one transaction's memory.
  for (let done = 0; done < tasks; done += 100_000) seedDemo(db, { tasks: Math.min(100_000, tasks - done), seed: 42 + done });
  db.close();
  fs.writeFileSync(path.join(home, '.complete'), '');
  console.log(`built ${tasks} tasks in ${f(performance.now() - t0)} (${(fs.statSync(paths.atlasDb).size / 1048576).toFixed(0)} MB) at ${home}`);
  return home;
}

async function main() {
  const tasks = arg('tasks', 1_000_000);
  const runs = arg('runs', 5);
  console.log(`# health check end to end: ${tasks} tasks, ${runs} runs, ${os.cpus().length} cores, ${new Date().toISOString()}`);
  const home = benchHome(tasks);
  const paths = atlasPaths(home);

  // A reachable "Sheets endpoint" on loopback: the benchmark measures the check, not the internet.
  const sheets = http.createServer((_q, r) => r.writeHead(204).end());
  await listenOnPickedPort(sheets);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-bench-health-temporal-'));
  const server = await startDevServerOnPickedPorts({ headless: true, dbFile: path.join(dir, 'temporal.db') });
  const config = loadConfig({
    env: {},
    overrides: { home, 'temporal.address': server.address, taskQueue: 'bench-health', host: 'bench', 'sheets.rootUrl': `http://127.0.0.1:${(sheets.address() as { port: number }).port}/` },
  });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const worker = await createAtlasWorker(config, { client });
  const running = worker.run();

  try {
    // Direct: the same measurements, in-process, no workflow.
    const ops = openOpsDb(paths.opsDb);
    const direct: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await collectHealth({ config, paths, ops, now: new Date(), deep: false });
      direct.push(performance.now() - t0);
    }
    ops.close();

    const execute = async (deep: boolean) => {
      const t0 = performance.now();
      const r = (await client.workflow.execute('healthCheck', { taskQueue: config.taskQueue, workflowId: `bench-health-${Date.now()}-${Math.random()}`, args: [{ deep }] })) as HealthCheckOutcome;
      return { ms: performance.now() - t0, activityMs: r.ms };
    };
    await execute(false); // warm-up: workflow bundle in the VM, connections, page cache
    const e2e: number[] = [];
    const activity: number[] = [];
    for (let i = 0; i < runs; i++) {
      const r = await execute(false);
      e2e.push(r.ms);
      activity.push(r.activityMs);
    }
    const quick = await execute(true);

    const m = median(e2e);
    console.log(`direct collectHealth (no Temporal):   median ${f(median(direct))}, max ${f(Math.max(...direct))}`);
    console.log(`runHealthCheck activity (in worker):  median ${f(median(activity))}`);
    console.log(`healthCheck workflow end to end:      median ${f(m)}, max ${f(Math.max(...e2e))}  (target < ${TARGET_MS} ms: ${m < TARGET_MS ? 'PASS' : 'FAIL'}, ${(m / TARGET_MS).toFixed(2)}× of target)`);
    console.log(`orchestration overhead:               ${(m / median(direct)).toFixed(2)}× the direct measurement`);
    console.log(`daily deep check (quick_check, business metrics): ${f(quick.ms)} (activity ${f(quick.activityMs)}; once a day, not held to the target)`);
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
    await server.stop();
    sheets.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
