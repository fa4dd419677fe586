// The atlas-ops worker: one process serving the workflow queue (`atlas-ops`) and this host's
// activity queue (`atlas-ops@<host>`), so host work lands on the host that holds the data.
import type { Replicator } from './replication/replicator';
import path from 'node:path';
import { DefaultLogger, NativeConnection, Worker, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { createActivities } from '../activities';
import { hostTaskQueue, type AtlasConfig } from './config';
import { killInterceptor, parseKillPoint } from './faults';
import { connectClient, connectionSettings } from './temporal/connect';
import { ensureSearchAttributes } from './temporal/search-attributes';
import { workerIdentity } from './target';

export const WORKFLOWS_PATH = path.join(__dirname, '..', 'workflows', 'index.ts');

export interface WorkerOptions {
  /** A prebuilt workflow bundle (tests bundle once and reuse it); otherwise bundled at start. */
  workflowBundlePath?: string;
  client?: Client;
  /** The in-process replicator (`atlas-ops dev`, tests); otherwise the systemd unit replica.unit. */
  replicator?: Replicator;
}

export interface AtlasWorker {
  taskQueue: string;
  hostQueue: string;
  run(): Promise<void>;
  shutdown(): void;
}

let runtimeInstalled = false;

/** Quiet Rust-core logs: warnings and errors only, so the operator sees ours. */
function installRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger(process.env.ATLAS_LOG_LEVEL === 'debug' ? 'DEBUG' : 'WARN'), telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }), forward: {} } } });
  } catch {
    /* already installed by the host process (tests) */
  }
}

export async function createAtlasWorker(config: AtlasConfig, options: WorkerOptions = {}): Promise<AtlasWorker> {
  installRuntime();
  const client = options.client ?? (await connectClient(config));
  await ensureSearchAttributes(client, config.temporal.namespace);
  const connection = await NativeConnection.connect(connectionSettings(config));
  const { context, host, workflowQueue } = createActivities({ config, client, replicator: options.replicator });
  const workflowSource = options.workflowBundlePath
    ? { workflowBundle: { codePath: options.workflowBundlePath } }
    : { workflowsPath: WORKFLOWS_PATH };
  const workflowWorker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.taskQueue,
    ...workflowSource,
    activities: workflowQueue,
  });
  const killPoint = parseKillPoint(process.env.ATLAS_FAULT_KILL);
  if (killPoint) process.stderr.write(`atlas-ops worker: FAULT INJECTION: will SIGKILL itself ${killPoint.when} ${killPoint.activity} (execution ${killPoint.occurrence})\n`);
  const hostWorker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: hostTaskQueue(config),
    // Says which home it serves, so the CLI can refuse a start for another home (src/target.ts).
    identity: workerIdentity(config.home),
    activities: host,
    interceptors: killPoint ? { activity: [killInterceptor(killPoint)] } : undefined,
    // Heartbeats carry progress (a snapshot's bytes copied): send them every few seconds so the
    // CLI's --wait and the Web UI's pending activities show it moving, not once per 48 s.
    maxHeartbeatThrottleInterval: '2s',
  });
  return {
    taskQueue: config.taskQueue,
    hostQueue: hostTaskQueue(config),
    async run() {
      try {
        await Promise.all([workflowWorker.run(), hostWorker.run()]);
      } finally {
        context.close();
        await connection.close();
        if (!options.client) await client.connection.close();
      }
    },
    shutdown() {
      for (const w of [workflowWorker, hostWorker]) {
        if (w.getState() === 'RUNNING') w.shutdown();
      }
    },
  };
}
