// Load (issue 7, docs/performance.md#load): many procedure starts at once against one dev server and one
// worker. (1) N concurrent healthCheck starts, each timed from start() to its result; (2) M schedule
// actions backfilled on a schedule whose action is a sheetsExport that skips at once (the
// maintenance flag is set), each timed by the server from its start to its close. Then every
// history is searched for WorkflowTaskTimedOut / ActivityTaskTimedOut: the worker keeps up only
// if there are none.
//
//   npx tsx bench/load.ts                                 # 100 concurrent, 300 backfilled (minutes)
//   npx tsx bench/load.ts --full                          # the sizes: 100 and 1 000
//   npx tsx bench/load.ts --concurrent=100 --backfill=1000
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, ScheduleOverlapPolicy } from '@temporalio/client';
import { loadConfig } from '../src/config';
import { ensureHome } from '../src/home';
import { atlasPaths } from '../src/paths';
import { startDevServerOnPickedPorts } from '../src/temporal/dev-server';
import { createAtlasWorker } from '../src/worker';
import { listenOnPickedPort } from '../src/ports';
import { formatTimeouts, ms, percentile, timeouts } from './lib/load-stats';
import { arg } from './lib/atlas-db';


interface LoadRow {
  load: string;
  started: number;
  completed: number;
  wallMs: number;
  latencies: number[];
  /** By timeout type: START_TO_CLOSE (the worker held a task too long) or SCHEDULE_TO_START (a sticky queue waited). */
  workflowTaskTimeouts: Record<string, number>;
  activityTimeouts: number;
}

async function concurrentHealthChecks(client: Client, taskQueue: string, n: number): Promise<LoadRow> {
  const t0 = performance.now();
  const runs = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const s = performance.now();
      const handle = await client.workflow.start('healthCheck', { taskQueue, workflowId: `load-health-${Date.now()}-${i}`, args: [{}] });
      await handle.result();
      return { ms: performance.now() - s, workflowId: handle.workflowId, runId: handle.firstExecutionRunId };
    }),
  );
  const wallMs = performance.now() - t0;
  const found = await timeouts(client, runs);
  return { load: `${n} concurrent healthCheck starts`, started: n, completed: runs.length, wallMs, latencies: runs.map((r) => r.ms), workflowTaskTimeouts: found.workflowTask, activityTimeouts: found.activity };
}

async function backfilledExports(client: Client, taskQueue: string, scheduleId: string, n: number): Promise<LoadRow> {
  const schedule = await client.schedule.create({
    scheduleId,
    spec: { intervals: [{ every: '1 minute' }] },
    action: { type: 'startWorkflow', workflowType: 'sheetsExport', taskQueue, args: [{}] },
    policies: { overlap: ScheduleOverlapPolicy.ALLOW_ALL },
    // Paused: only the backfill starts runs.
    state: { paused: true, note: 'load benchmark' },
  });
  const query = `WorkflowType = 'sheetsExport' AND TaskQueue = '${taskQueue}'`;
  const t0 = performance.now();
  const end = new Date(Date.UTC(2026, 0, 1));
  // Both ends of the range are action times: n actions span n - 1 minutes.
  await schedule.backfill({ start: new Date(end.getTime() - (n - 1) * 60_000), end, overlap: ScheduleOverlapPolicy.ALLOW_ALL });
  // Done when every backfilled action has closed (or nothing moved for a minute).
  let closed = 0;
  let lastChange = Date.now();
  while (closed < n && Date.now() - lastChange < 60_000) {
    await new Promise((r) => setTimeout(r, 500));
    const c = (await client.workflow.count(`${query} AND ExecutionStatus != 'Running'`)).count;
    if (c !== closed) lastChange = Date.now();
    closed = c;
  }
  const wallMs = performance.now() - t0;
  const latencies: number[] = [];
  const ids: { workflowId: string; runId: string }[] = [];
  let completed = 0;
  for await (const w of client.workflow.list({ query })) {
    ids.push({ workflowId: w.workflowId, runId: w.runId });
    if (w.status.name === 'COMPLETED') completed++;
    if (w.closeTime) latencies.push(w.closeTime.getTime() - w.startTime.getTime());
  }
  await schedule.delete();
  const found = await timeouts(client, ids);
  return { load: `${n} schedule actions backfilled (sheetsExport, skipped: maintenance flag)`, started: ids.length, completed, wallMs, latencies, workflowTaskTimeouts: found.workflowTask, activityTimeouts: found.activity };
}

async function main() {
  const concurrent = arg('concurrent', 100);
  // 1 000 backfilled runs took about 7 minutes on 2 loaded cores: the default stays at minutes.
  const backfill = arg('backfill', process.argv.includes('--full') ? 1000 : 300);
  console.log(`# load: ${concurrent} concurrent health checks, ${backfill} backfilled schedule actions; ${os.cpus().length} cores, ${new Date().toISOString()}`);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-bench-load-'));
  ensureHome(home, { demo: true, seedTasks: 1000 });
  // The flag makes each backfilled export skip at once: the benchmark measures orchestration.
  fs.writeFileSync(atlasPaths(home).maintenanceFlag, `${JSON.stringify({ workflowId: 'bench-load', reason: 'load benchmark', since: new Date().toISOString() })}\n`);
  // A reachable "Sheets endpoint" on loopback: health checks measure the system, not DNS.
  const sheets = http.createServer((_q, r) => r.writeHead(204).end());
  await listenOnPickedPort(sheets);
  const server = await startDevServerOnPickedPorts({ headless: true, dbFile: path.join(home, 'temporal.db') });
  const config = loadConfig({
    env: {},
    overrides: { home, 'temporal.address': server.address, taskQueue: 'bench-load', host: 'bench', scheduleIdPrefix: 'bench-load-', 'sheets.rootUrl': `http://127.0.0.1:${(sheets.address() as { port: number }).port}/` },
  });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const worker = await createAtlasWorker(config, { client });
  const running = worker.run();
  try {
    // Warm-up: the workflow bundle in the VM, connections, page cache.
    await client.workflow.execute('healthCheck', { taskQueue: config.taskQueue, workflowId: `load-warmup-${Date.now()}`, args: [{}] });
    const rows = [await concurrentHealthChecks(client, config.taskQueue, concurrent), await backfilledExports(client, config.taskQueue, `${config.scheduleIdPrefix}export`, backfill)];
    console.log('\n| load | started | completed | wall time | per second | p50 | p95 | max | WorkflowTaskTimedOut | ActivityTaskTimedOut |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const r of rows) {
      console.log(
        `| ${r.load} | ${r.started} | ${r.completed} | ${ms(r.wallMs)} | ${(r.completed / (r.wallMs / 1000)).toFixed(1)} | ${ms(percentile(r.latencies, 50))} | ${ms(percentile(r.latencies, 95))} | ${ms(Math.max(...r.latencies))} | ${formatTimeouts(r.workflowTaskTimeouts)} | ${r.activityTimeouts} |`,
      );
    }
    console.log('\nLatency: healthCheck from client start() to result; backfilled runs from the server\'s start time to close time.');
    const ok = rows.every((r) => r.completed === r.started && r.started > 0 && Object.keys(r.workflowTaskTimeouts).length === 0);
    console.log(`worker kept up (every run completed, no workflow task timed out): ${ok ? 'yes' : 'NO'}`);
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
    await server.stop();
    sheets.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
