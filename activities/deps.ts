// What activities receive from the worker. Tests pass real-but-local ones (a temp Atlas home,
// the dev server's client, emulators on loopback) instead of mocks.
import type { Client } from '@temporalio/client';
import type { AtlasConfig } from '../src/config';
import { atlasPaths, type AtlasPaths } from '../src/paths';
import { openOpsDb } from '../src/db/ops-db';
import type { Db } from '../src/db/sqlite';
import { Alerts, retryingSink, webhookSink } from '../src/alerts';
import { appendLog } from '../src/log';
import type { Replicator } from '../src/replication/replicator';
import { replicatorControl, type ReplicatorControl } from '../src/replication/control';
import { activeOpsDb } from '../src/volume-swap';

export interface ActivityDeps {
  config: AtlasConfig;
  client: Client;
  now?: () => Date;
  /** The in-process replicator (`atlas-ops dev`, tests); otherwise the systemd unit replica.unit. */
  replicator?: Replicator;
}

/** Resources shared by the activities of one worker, opened lazily and once. */
export class ActivityContext {
  readonly paths: AtlasPaths;
  private ops?: Db;
  private opsFile?: string;
  private alertsInstance?: Alerts;

  constructor(readonly deps: ActivityDeps) {
    this.paths = atlasPaths(deps.config.home);
  }

  get config(): AtlasConfig {
    return this.deps.config;
  }

  get client(): Client {
    return this.deps.client;
  }

  now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /** ops.db: the stash's copy while Option C swaps the volume (src/volume-swap.ts), reopened when that changes. */
  opsDb(): Db {
    const file = activeOpsDb(this.config, this.paths);
    if (this.ops && this.opsFile !== file) this.close();
    this.opsFile = file;
    this.ops ??= openOpsDb(file);
    return this.ops;
  }

  alerts(): Alerts {
    const db = this.opsDb();
    if (this.alertsInstance) return this.alertsInstance;
    const { webhookUrl: url, webhookAttempts, webhookBackoff } = this.config.alerts;
    const logFile = this.paths.log('alerts');
    const sink = url
      ? retryingSink(webhookSink(url), {
          attempts: webhookAttempts,
          backoffMs: webhookBackoff,
          onFailure: (attempt, err) => appendLog(logFile, { event: 'webhook-attempt-failed', attempt, error: err.message }),
        })
      : undefined;
    this.alertsInstance = new Alerts(db, logFile, sink, () => this.now());
    return this.alertsInstance;
  }

  /** Stops and starts the replicator around checkpoints and swaps; undefined when replication is not configured. */
  replicatorControl(): ReplicatorControl | undefined {
    return replicatorControl(this.config, this.paths, this.deps.replicator);
  }

  close(): void {
    this.ops?.close();
    this.ops = undefined;
    this.alertsInstance = undefined;
  }
}
