// Orchestration overhead of the maintenance cycle (docs/performance.md#maintenance-overhead): the whole procedure on a real
// dev server and worker (the human wait excluded) against the same SQLite work done by hand with
// the sqlite3 CLI (.backup, integrity_check of the copy and of the database, journal_mode), in one run.
//
//   npx tsx bench/maintenance.ts --mb=1024 --runs=3
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../src/config';
import { ensureHome } from '../src/home';
import { atlasPaths } from '../src/paths';
import { startDevServerOnPickedPorts } from '../src/temporal/dev-server';
import { createAtlasWorker } from '../src/worker';
import { resumeSignal } from '../workflows/maintenance';
import { arg, makeAtlasDb, mb, timeAsync, timeIt } from './lib/atlas-db';
import { createStandInSchedules, untilEditWait } from './lib/maintenance-run';

async function main() {
  const sizeMb = arg('mb', 200);
  const runs = arg('runs', 3);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-bench-maint-'));
  const home = path.join(dir, 'home');
  ensureHome(home);
  const paths = atlasPaths(home);
  const size = makeAtlasDb(paths.atlasDb, sizeMb);
  console.log(`# maintenance cycle overhead: ${mb(size)} atlas.db, ${runs} runs, ${os.cpus().length} cores, ${new Date().toISOString()}`);

  const server = await startDevServerOnPickedPorts({ headless: true, dbFile: path.join(dir, 'temporal.db') });
  const config = loadConfig({ env: {}, overrides: { home, 'temporal.address': server.address, taskQueue: 'bench-maintenance', host: 'bench' } });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  await createStandInSchedules(client, config);
  const worker = await createAtlasWorker(config, { client });
  const running = worker.run();

  const byHand: number[] = [];
  const ours: number[] = [];
  for (let i = 0; i < runs; i++) {
    const copy = path.join(dir, `hand-${i}.db`);
    byHand.push(timeIt(() => {
      execFileSync('sqlite3', [paths.atlasDb, `.backup ${copy}`]);
      execFileSync('sqlite3', [copy, 'PRAGMA integrity_check;']);
      execFileSync('sqlite3', [paths.atlasDb, 'PRAGMA integrity_check;']);
      execFileSync('sqlite3', [paths.atlasDb, 'PRAGMA journal_mode;']);
    }).ms);
    fs.rmSync(copy);

    const id = `bench-maintenance-${i}-${Date.now()}`;
    const t0 = performance.now();
    const handle = await client.workflow.start('maintenance', { taskQueue: config.taskQueue, workflowId: id, args: [{ reason: 'bench' }] });
    await untilEditWait(handle);
    const beforeEdit = performance.now() - t0;
    const afterEdit = await timeAsync(async () => {
      await handle.signal(resumeSignal, { by: 'bench' });
      return handle.result();
    });
    ours.push(beforeEdit + afterEdit.ms);
    for (const f of fs.readdirSync(paths.backupsDir)) fs.rmSync(path.join(paths.backupsDir, f));
  }
  worker.shutdown();
  await running;
  await connection.close();
  await server.stop();

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const hand = median(byHand);
  const cycle = median(ours);
  console.log(`sqlite3 by hand (backup + 2 integrity_check + journal_mode): median ${hand.toFixed(0)} ms  [${byHand.map((x) => x.toFixed(0)).join(', ')}]`);
  console.log(`maintenance workflow, human wait excluded:                median ${cycle.toFixed(0)} ms  [${ours.map((x) => x.toFixed(0)).join(', ')}]`);
  console.log(`ratio maintenance / by hand: ${(cycle / hand).toFixed(2)} (target ≤ 1.5)`);
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
