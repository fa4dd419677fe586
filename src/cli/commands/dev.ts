// atlas-ops dev | worker | demo seed
import type { Command } from 'commander';
import { requireHome } from '../../config';
import { ensureHome, tightenOwnModes, tightenedNote } from '../../home';
import { atlasPaths } from '../../paths';
import { migrateAtlas } from '../../db/atlas-schema';
import { seedDemo } from '../../db/demo-seed';
import { withDatabase } from '../../db/sqlite';
import type { Run } from '../action';
import { EXIT, configFor, globals, parseIntOption, parsePortOption } from '../common';
import { registeredWorkflowTypes } from './schedules';
import { readMaintenanceFlag } from '../../maintenance-flag';

/** Calls `stop` once on the first SIGINT or SIGTERM; the command's own await then ends the process. */
function onStopSignal(stop: () => void): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\natlas-ops: ${signal}, stopping…\n`);
    stop();
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
}

export function registerDev(program: Command, run: Run): void {
  devCommand(program, run);
  workerCommand(program, run);
  demoSeedCommand(program.command('demo').description('demo data'), run);
}

function devCommand(program: Command, run: Run): void {
  program
    .command('dev')
    .description('run everything locally: Temporal dev server + Web UI, worker, schedules, demo Atlas home')
    .option('--port <port>', 'Temporal gRPC port', parsePortOption('--port'), 7233)
    .option('--ui-port <port>', 'Temporal Web UI port', parsePortOption('--ui-port'), 8233)
    .action(run<{ port: number; uiPort: number }>(async ({ cmd, opts }) => {
      // Its own default home (./.atlas), so not the Action's configuration.
      const { home = process.env.ATLAS_HOME ?? './.atlas', config: configFile } = globals(cmd);
      // Checked before the stack is loaded (about a second), so that a bad configuration fails at once.
      configFor(cmd, { home });
      // Required here, not imported at the top: the worker brings @temporalio/worker and every
      // activity (about a second of start-up) that the other commands do not need. import() would bypass
      // the tsx require hook that runs these sources.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { startDev } = require('../../dev') as typeof import('../../dev');
      const stack = await startDev({
        port: opts.port,
        uiPort: opts.uiPort,
        home,
        configFile,
        registeredTypes: registeredWorkflowTypes(),
        log: (line) => process.stdout.write(`atlas-ops: ${line}\n`),
      });
      process.stdout.write(`atlas-ops: ready. In another shell: npx atlas-ops maintenance start --wait   (Ctrl-C stops everything)\n`);
      // Ends when a signal has stopped everything (worker, then server), or when the worker dies.
      let stopRequested = false;
      const stopped = new Promise<void>((resolve, reject) => onStopSignal(() => {
        stopRequested = true;
        stack.stop().then(resolve, reject);
      }));
      const died = stack.running.then(async () => {
        if (stopRequested) return stopped;
        await stack.stop();
        throw new Error('the worker stopped unexpectedly; the dev server was stopped too');
      });
      await Promise.race([stopped, died]);
      return EXIT.ok;
    }));
}

function workerCommand(program: Command, run: Run): void {
  program
    .command('worker')
    .description('run the worker against the configured Temporal server (production)')
    .action(run(async ({ config }) => {
      requireHome(config);
      const note = tightenedNote(config.home, tightenOwnModes(atlasPaths(config.home)));
      if (note) process.stdout.write(`atlas-ops worker: ${note}\n`);
      // Required here for the same reason as in `dev`.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { createAtlasWorker } = require('../../worker') as typeof import('../../worker');
      const worker = await createAtlasWorker(config, { workflowBundlePath: process.env.ATLAS_WORKFLOW_BUNDLE || undefined });
      // Paths of secret files, never their contents.
      const t = config.temporal;
      const auth = [t.apiKeyFile && `API key from ${t.apiKeyFile}`, t.tlsCert && `client certificate ${t.tlsCert}`].filter(Boolean).join(', ');
      process.stdout.write(`atlas-ops worker: ${t.address} namespace ${t.namespace}${auth ? ` (${auth})` : ''}, queues ${worker.taskQueue} and ${worker.hostQueue}, home ${config.home}\n`);
      onStopSignal(() => worker.shutdown());
      await worker.run();
      return EXIT.ok;
    }));
}

function demoSeedCommand(demo: Command, run: Run): void {
  demo
    .command('seed')
    .description('add realistic tasks, approvals, errors and patterns to atlas.db (creating it when missing)')
    .option('--tasks <n>', 'how many tasks', parseIntOption('--tasks'), 200)
    .option('--seed <n>', 'random seed (same seed, same data)', parseIntOption('--seed'), 42)
    .action(run<{ tasks: number; seed: number }>(async (a) => {
      requireHome(a.config);
      const { paths } = ensureHome(a.config.home);
      const flag = readMaintenanceFlag(paths.maintenanceFlag);
      if (flag.set) {
        throw new Error(`${paths.maintenanceFlag} is set${flag.holder ? ` (${flag.holder})` : ''}: only the procedure holding it may write atlas.db; finish or abort it first (atlas-ops status), then seed`);
      }
      const result = withDatabase(paths.atlasDb, { create: true, wal: true }, (db) => {
        migrateAtlas(db);
        return seedDemo(db, { tasks: a.opts.tasks, seed: a.opts.seed });
      });
      a.output({ atlasDb: paths.atlasDb, ...result }, () => `seeded ${paths.atlasDb}: ${result.tasks} tasks, ${result.approvals} approvals (${result.pending} pending), ${result.errors} errors, ${result.patterns} patterns`);
      return EXIT.ok;
    }));
}
