// One harness for a test's Atlas: the servers it talks to (webhook receiver, Sheets emulator or a
// stand-in endpoint, OCI emulator, all on 127.0.0.1), a temp home with a seeded atlas.db, schedules,
// a worker, and a teardown that undoes exactly what was set up, newest first, even after a failed
// setup. `useAtlas` registers it in the vitest hooks; `startAtlas` is for a test that
// needs its own (a loop of cases, a worker it kills).
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import type { AtlasConfig } from '../../src/config';
import { startOciEmulator, type EmulatorOptions, type OciEmulator } from '../../src/oci-emulator/server';
import { listenOnPickedPort } from '../../src/ports';
import { atlasPaths } from '../../src/paths';
import { startDevS3, writeDevCredentials, type DevS3 } from '../../src/replication/dev-s3';
import { litestreamBinary } from '../../src/replication/litestream';
import { superviseLitestream, type Replicator } from '../../src/replication/replicator';
import { createSchedules, makeEnv, startWorker, type TestEnv } from './env';
import { withSheets, type SheetsFixture } from './sheets';
import { receiver } from './webhook';

type Worker = Awaited<ReturnType<typeof startWorker>>;
type Webhook = Awaited<ReturnType<typeof receiver>>;

export interface AtlasOptions {
  /** Configuration overrides (dotted keys, as `makeEnv` takes them). */
  overrides?: Record<string, string | number>;
  seedTasks?: number;
  /** A test's own Temporal server instead of the suite's. */
  temporalAddress?: string;
  /** A Slack-compatible receiver as `alerts.webhookUrl` (its first `failFirst` requests fail). */
  webhook?: boolean | { failFirst: number };
  /** A stand-in Sheets endpoint as `sheets.rootUrl`, for tests that only need something to answer. */
  sheetsEndpoint?: http.RequestListener;
  /** The OCI emulator as `oci.endpoint`; `volumeId` is the configured volume (default the first emulated one). */
  oci?: { volumes: string[]; volumeId?: string; availableAfterMs: number; pollInterval: number } & Pick<EmulatorOptions, 'instances' | 'attachments' | 'attachmentDelayMs' | 'onAttachmentChange'>;
  /** Schedules created (firing rarely, none paused) before anything else runs. */
  schedules?: string[];
  /** Runs once the home exists, before the Sheets emulator and the worker start: seeding, files. */
  prepare?: (a: Atlas) => Promise<void> | void;
  /** The Sheets emulator (`withSheets`); an object or function gives its `sheets` overrides. */
  sheets?: boolean | Partial<AtlasConfig['sheets']> | ((a: Atlas) => Partial<AtlasConfig['sheets']>);
  /**
   * The continuous replica: a local S3 server (s3rver) as `replica.endpoint`, dev keys in
   * `<home>/config/replica-credentials.json` (0600) and Litestream supervised in-process, handed to
   * the worker. A missing Litestream binary fails the setup (never a skip).
   */
  replica?: boolean;
  /** An in-process worker, started last. */
  worker?: boolean;
  /** The worker's configuration from the default one (t.config, or the Sheets fixture's). */
  workerConfig?: (config: AtlasConfig) => AtlasConfig;
  /** Runs first at teardown, while the worker still runs: terminate what the tests left running. */
  beforeTeardown?: (a: Atlas) => Promise<void> | void;
}

export interface ReplicaFixture {
  /** The S3 server while it runs (undefined after `stopS3`). */
  s3?: DevS3;
  replicator: Replicator;
  /** What a CLI child process needs to see the same replica (`runCli(t, args, t.replica.env)`). */
  env: NodeJS.ProcessEnv;
  /** Stops the S3 server (an outage); `startS3` brings it back on the same port with the same objects. */
  stopS3(): Promise<void>;
  startS3(): Promise<void>;
}

function need<T>(value: T | undefined, what: string, option: string): T {
  if (value === undefined) throw new Error(`this Atlas has no ${what}: pass \`${option}\` to useAtlas/startAtlas`);
  return value;
}

/** A test's Atlas. A TestEnv, so every helper that takes one (runCli, createSchedules, …) takes it. */
export class Atlas implements TestEnv {
  private t?: TestEnv;
  private sheetsFixture?: SheetsFixture;
  private webhook?: Webhook;
  private ociEmulator?: OciEmulator;
  private replicaFixture?: ReplicaFixture;
  private running?: Worker;
  /** What teardown undoes, in the order set up. */
  private undo: (() => Promise<unknown> | unknown)[] = [];

  constructor(private readonly options: AtlasOptions = {}) {}

  private get current(): TestEnv {
    if (!this.t) throw new Error('the Atlas is used outside its setup (before beforeAll/beforeEach ran, or after teardown)');
    return this.t;
  }
  get id(): string {
    return this.current.id;
  }
  get home(): string {
    return this.current.home;
  }
  get config(): AtlasConfig {
    return this.current.config;
  }
  get env(): NodeJS.ProcessEnv {
    return this.current.env;
  }
  get client(): TestEnv['client'] {
    return this.current.client;
  }
  get sheets(): SheetsFixture {
    return need(this.sheetsFixture, 'Sheets emulator', 'sheets');
  }
  get hook(): Webhook {
    return need(this.webhook, 'webhook receiver', 'webhook');
  }
  get oci(): OciEmulator {
    return need(this.ociEmulator, 'OCI emulator', 'oci');
  }
  get replica(): ReplicaFixture {
    return need(this.replicaFixture, 'replica', 'replica');
  }
  /** The configuration a worker of this Atlas runs with: the Sheets emulator's, then `workerConfig`. */
  get workerConfig(): AtlasConfig {
    const base = this.sheetsFixture?.config ?? this.config;
    return this.options.workerConfig?.(base) ?? base;
  }

  async start(): Promise<this> {
    try {
      await this.setUp();
      return this;
    } catch (err) {
      await this.cleanup();
      throw err;
    }
  }

  private async setUp(): Promise<void> {
    const o = this.options;
    const overrides: Record<string, string | number> = {};
    if (o.webhook) {
      const hook = (this.webhook = await receiver(typeof o.webhook === 'object' ? o.webhook.failFirst : 0));
      this.defer(() => hook.close());
      // Retries of a failing webhook need not wait in a test.
      Object.assign(overrides, { 'alerts.webhookUrl': hook.url, 'alerts.webhookBackoff': '10ms' });
    }
    if (o.sheetsEndpoint) {
      const server = http.createServer(o.sheetsEndpoint);
      const port = await listenOnPickedPort(server);
      this.defer(() => new Promise((r) => server.close(r)));
      overrides['sheets.rootUrl'] = `http://127.0.0.1:${port}/`;
    }
    if (o.oci) {
      const { volumes, availableAfterMs, instances, attachments, attachmentDelayMs, onAttachmentChange } = o.oci;
      const emu = (this.ociEmulator = await startOciEmulator({ availableAfterMs, volumes: volumes.map((id) => ({ id })), instances, attachments, attachmentDelayMs, onAttachmentChange }));
      this.defer(() => emu.close());
      Object.assign(overrides, { 'oci.endpoint': emu.url, 'oci.volumeId': o.oci.volumeId ?? o.oci.volumes[0]!, 'oci.pollInterval': o.oci.pollInterval });
    }
    let s3: DevS3 | undefined;
    let s3Dir: string | undefined;
    if (o.replica) {
      litestreamBinary();
      s3Dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-s3-'));
      s3 = await startDevS3(s3Dir);
      const dir = s3Dir;
      this.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
      // The server may be stopped and started again by the test: close whichever runs last.
      this.defer(() => this.replicaFixture?.s3?.close());
      Object.assign(overrides, { 'replica.endpoint': s3.url, 'replica.bucket': s3.bucket });
    }
    const t = (this.t = await makeEnv({ ...overrides, ...o.overrides }, { seedTasks: o.seedTasks, temporalAddress: o.temporalAddress }));
    this.defer(() => t.cleanup());
    if (s3 && s3Dir) {
      writeDevCredentials(t.config.replica.credentialsFile);
      const replicator = superviseLitestream(t.config, atlasPaths(t.home), { restartDelayMs: 500 });
      const fixture: ReplicaFixture = (this.replicaFixture = {
        s3,
        replicator,
        env: { ATLAS_REPLICA_ENDPOINT: s3.url, ATLAS_REPLICA_BUCKET: s3.bucket },
        async stopS3() {
          await fixture.s3?.close();
          fixture.s3 = undefined;
        },
        async startS3() {
          fixture.s3 ??= await startDevS3(s3Dir!, { port: s3.port, bucket: s3.bucket });
        },
      });
      this.defer(() => replicator.stop());
    }
    if (o.schedules) await createSchedules(this, o.schedules);
    await o.prepare?.(this);
    if (o.sheets) {
      const sheets = (this.sheetsFixture = await withSheets(this, typeof o.sheets === 'function' ? o.sheets(this) : o.sheets === true ? {} : o.sheets));
      this.defer(() => sheets.close());
    }
    if (o.worker) await this.startWorker();
    if (o.beforeTeardown) this.defer(() => o.beforeTeardown!(this));
  }

  /** Starts the in-process worker (for tests that prepare the home first); teardown stops it. */
  async startWorker(config: AtlasConfig = this.workerConfig): Promise<void> {
    if (this.running) throw new Error('this Atlas already runs a worker');
    this.running = await startWorker(this, config, { replicator: this.replicaFixture?.replicator });
    this.defer(() => this.stopWorker());
  }

  private async stopWorker(): Promise<void> {
    const worker = this.running;
    this.running = undefined;
    await worker?.stop();
  }

  /** Adds a step to the teardown, run before everything set up so far is undone (a mount inside the home). */
  defer(step: () => Promise<unknown> | unknown): void {
    this.undo.push(step);
  }

  /** Undoes the setup, newest first; every step runs even when one fails, then the first error is thrown. */
  async cleanup(): Promise<void> {
    const errors: unknown[] = [];
    for (let step = this.undo.pop(); step; step = this.undo.pop()) {
      try {
        await step();
      } catch (err) {
        errors.push(err);
      }
    }
    this.t = this.sheetsFixture = this.webhook = this.ociEmulator = this.replicaFixture = undefined;
    if (errors.length) throw errors[0];
  }
}

/**
 * The Atlas of a test file (or of each test, with `each`), set up in beforeAll (beforeEach) and torn
 * down in afterAll (afterEach). Call at the top of the file or of a describe block.
 */
export function useAtlas(options: AtlasOptions = {}, scope: { each?: boolean } = {}): Atlas {
  const atlas = new Atlas(options);
  (scope.each ? beforeEach : beforeAll)(async () => {
    await atlas.start();
  });
  (scope.each ? afterEach : afterAll)(() => atlas.cleanup());
  return atlas;
}

/** An Atlas of its own for one test; the test calls `cleanup()` in its `finally`. */
export function startAtlas(options: AtlasOptions = {}): Promise<Atlas> {
  return new Atlas(options).start();
}
