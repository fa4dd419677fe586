// `atlas-ops dev` (npm start): the whole stack on one machine with embedded defaults — the Temporal
// dev server with its Web UI, the worker, the schedules, and a demo Atlas home.
import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_FIELDS, loadConfig, replicaConfigured, type AtlasConfig } from './config';
import { ensureDevKey, startHomeEmulator, type SheetsEmulator } from './sheets-emulator';
import { ensureHome, tightenedNote } from './home';
import { removeDevSettings, writeDevSettings } from './dev-settings';
import { applySchedules } from './schedules';
import { portFree } from './ports';
import { startDevServer, type DevServer } from './temporal/dev-server';
import { connectClient } from './temporal/connect';
import { createAtlasWorker, type AtlasWorker } from './worker';
import { startDevS3, writeDevCredentials, type DevS3 } from './replication/dev-s3';
import { superviseLitestream, type Replicator } from './replication/replicator';
import { litestreamBinary } from './replication/litestream';

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
  /** The local S3 server, unless a real replica endpoint is configured. */
  s3?: DevS3;
  /** Litestream replicating atlas.db, unless it could not be found. */
  replicator?: Replicator;
  running: Promise<void>;
  stop(): Promise<void>;
}

const isLoopbackUrl = (url: string) => ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);

/**
 * Writes the local S3 server's endpoint and bucket into the home's configuration file, so that the
 * commands run in another shell on this home (`atlas-ops replication status`, `db restore
 * --replica`) reach the same replica, and the next `atlas-ops dev` starts it on the same port.
 */
function recordDevReplica(home: string, s3: DevS3): void {
  const file = path.join(home, 'config', 'atlas-ops.json');
  const current = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  const replica = { ...(current.replica as Record<string, unknown> | undefined), endpoint: s3.url, bucket: s3.bucket };
  fs.writeFileSync(file, `${JSON.stringify({ ...current, replica }, null, 2)}\n`);
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
    const keyFile = first.sheets.credentials || path.join(home, 'config', 'sheets-credentials.json');
    if (ensureDevKey(emulator, keyFile) === 'issued') options.log(`issued a dev service-account key into ${keyFile} (the emulator's IAM; key rotation rotates it)`);
    options.log(`Sheets API emulator ${emulator.url} (spreadsheet ${emulator.spreadsheetId}; play the human with: atlas-ops sheets-emulator show / set 'Approvals!G2' approve)`);
  }
  // No replica endpoint, or a loopback one: the local S3 server stands in, with a bucket and dev keys.
  let s3: DevS3 | undefined;
  if (!replicaConfigured(first) || isLoopbackUrl(first.replica.endpoint)) {
    const port = first.replica.endpoint ? Number(new URL(first.replica.endpoint).port) : first.replica.devServerPort;
    s3 = await startDevS3(path.join(home, 's3'), { port, bucket: first.replica.bucket || undefined });
    if (!fs.existsSync(first.replica.credentialsFile)) writeDevCredentials(first.replica.credentialsFile);
    Object.assign(overrides, { 'replica.endpoint': s3.url, 'replica.bucket': s3.bucket });
    if (!first.replica.endpoint && !configFile) recordDevReplica(home, s3);
    options.log(`local S3 server ${s3.url} (bucket ${s3.bucket}, objects in ${path.join(home, 's3')})`);
  }
  const closeEmulators = async () => {
    await sheets?.close();
    await s3?.close();
  };
  const config = loadConfig({ configFile, overrides });
  let replicator: Replicator | undefined;
  try {
    litestreamBinary();
    replicator = superviseLitestream(config, setup.paths, { log: options.log });
    options.log(`replicating ${setup.paths.atlasDb} with Litestream (pid ${replicator.pid()}); see atlas-ops replication status`);
  } catch (err) {
    options.log(`replication OFF: ${(err as Error).message}`);
  }
  options.log(`starting the Temporal dev server (state in ${path.join(home, 'temporal.db')})`);
  const server = await startDevServer({
    port: options.port,
    uiPort: options.uiPort,
    dbFile: path.join(home, 'temporal.db'),
    logFile: path.join(setup.paths.logsDir, 'temporal-server.log'),
  }).catch(async (err: unknown) => {
    await replicator?.stop();
    await closeEmulators();
    throw err;
  });
  let worker: AtlasWorker | undefined;
  try {
    const client = await connectClient(config);
    worker = await createAtlasWorker(config, { client, replicator });
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
      s3,
      replicator,
      running,
      async stop() {
        removeDevSettings(home);
        w.shutdown();
        await running.catch(() => undefined);
        await client.connection.close().catch(() => undefined);
        await server.stop();
        await replicator?.stop();
        await closeEmulators();
      },
    };
  } catch (err) {
    worker?.shutdown();
    await server.stop();
    await replicator?.stop();
    await closeEmulators();
    throw err;
  }
}
