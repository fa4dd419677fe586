// `atlas-ops dev` (npm start): the whole stack on one machine with embedded defaults — the Temporal
// dev server with its Web UI, the worker, the schedules, and a demo Atlas home.
import path from 'node:path';
import { CONFIG_FIELDS, loadConfig, type AtlasConfig } from './config';
import { startHomeEmulator, type SheetsEmulator } from './sheets-emulator';
import { ensureHome, tightenedNote } from './home';
import { removeDevSettings, writeDevSettings } from './dev-settings';
import { applySchedules } from './schedules';
import { portFree } from './ports';
import { startDevServer, type DevServer } from './temporal/dev-server';
import { connectClient } from './temporal/connect';
import { createAtlasWorker, type AtlasWorker } from './worker';

export interface DevOptions {
  port: number;
  uiPort: number;
  home: string;
  /** --config: a configuration file other than <home>/config/atlas-ops.json. */
  configFile?: string;
  registeredTypes: Set<string>;
  log: (line: string) => void;
  /** Extra settings (tests); the environment and config file still apply beneath them. */
  overrides?: Record<string, string | number>;
}

export interface DevStack {
  config: AtlasConfig;
  server: DevServer;
  worker: AtlasWorker;
  /** The local Sheets API emulator, unless a real Sheets endpoint is configured. */
  sheets?: SheetsEmulator;
  running: Promise<void>;
  stop(): Promise<void>;
}

export async function startDev(options: DevOptions): Promise<DevStack> {
  const home = path.resolve(options.home);
  const overrides = {
    home,
    'temporal.address': `127.0.0.1:${options.port}`,
    'temporal.uiUrl': `http://127.0.0.1:${options.uiPort}`,
    ...options.overrides,
  };
  const { configFile } = options;
  // A bad configuration and a taken port are refused before anything is created, so a failed
  // start leaves no half-made home.
  const first = loadConfig({ configFile, overrides });
  for (const [flag, port] of [['--port', options.port], ['--ui-port', options.uiPort]] as const) {
    if (!(await portFree(port))) throw new Error(`${flag} ${port}: already in use on 127.0.0.1 (another Temporal server? pick another port)`);
  }
  const setup = ensureHome(home, { demo: true });
  const note = tightenedNote(home, setup.tightened);
  if (note) options.log(note);
  if (setup.createdAtlasDb) options.log(`created a demo Atlas home in ${home} (${setup.seeded?.tasks} tasks, ${setup.seeded?.pending} pending approvals)`);
  // No real Sheets endpoint configured: the emulator stands in, with the approvals spreadsheet in it.
  let sheets: SheetsEmulator | undefined;
  if (first.sheets.rootUrl === CONFIG_FIELDS.find((f) => f.key === 'sheets.rootUrl')!.default) {
    const emulator = await startHomeEmulator(home, { port: first.sheets.emulatorPort, spreadsheetId: first.sheets.spreadsheetId || undefined });
    sheets = emulator;
    Object.assign(overrides, { 'sheets.rootUrl': emulator.url, 'sheets.spreadsheetId': emulator.spreadsheetId });
    options.log(`Sheets API emulator ${emulator.url} (spreadsheet ${emulator.spreadsheetId}; play the human with: atlas-ops sheets-emulator show / set 'Approvals!G2' approve)`);
  }
  const config = loadConfig({ configFile, overrides });
  options.log(`starting the Temporal dev server (state in ${path.join(home, 'temporal.db')})`);
  const server = await startDevServer({
    port: options.port,
    uiPort: options.uiPort,
    dbFile: path.join(home, 'temporal.db'),
    logFile: path.join(setup.paths.logsDir, 'temporal-server.log'),
  }).catch(async (err: unknown) => {
    await sheets?.close();
    throw err;
  });
  let worker: AtlasWorker | undefined;
  try {
    const client = await connectClient(config);
    worker = await createAtlasWorker(config, { client });
    const running = worker.run();
    const applied = await applySchedules(client, config, options.registeredTypes);
    options.log(`schedules: created ${applied.created.join(', ') || '-'}; updated ${applied.updated.join(', ') || '-'}`);
    for (const s of applied.skipped) options.log(`schedule ${s.id} skipped: ${s.reason}`);
    options.log(`Temporal gRPC  ${server.address}`);
    options.log(`Temporal Web UI ${server.uiUrl}`);
    options.log(`worker on task queues ${worker.taskQueue} and ${worker.hostQueue}; Atlas home ${home}`);
    // CLI commands in this home follow this stack when given no option of their own.
    const recorded = writeDevSettings(home, {
      'temporal.address': server.address,
      'temporal.uiUrl': server.uiUrl,
      ...(sheets ? { 'sheets.rootUrl': config.sheets.rootUrl, 'sheets.spreadsheetId': config.sheets.spreadsheetId } : {}),
      ...(config.oci.endpoint ? { 'oci.endpoint': config.oci.endpoint } : {}),
    });
    options.log(`settings for the CLI in ${recorded}`);
    const w = worker;
    return {
      config,
      server,
      worker: w,
      sheets,
      running,
      async stop() {
        removeDevSettings(home);
        w.shutdown();
        await running.catch(() => undefined);
        await client.connection.close().catch(() => undefined);
        await server.stop();
        await sheets?.close();
      },
    };
  } catch (err) {
    worker?.shutdown();
    await server.stop();
    await sheets?.close();
    throw err;
  }
}
