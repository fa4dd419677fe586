// Real-but-local test environments: a temp Atlas home with a seeded atlas.db, a configuration with
// unique task queue and schedule ids, a worker in-process or as a child process we can SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { Client, Connection, ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import { loadConfig, type AtlasConfig } from '../../src/config';
import { ensureHome } from '../../src/home';
import { scheduleId } from '../../src/schedules';
import { createAtlasWorker } from '../../src/worker';
import type { Replicator } from '../../src/replication/replicator';

export const REPO = path.resolve(__dirname, '..', '..');
export const uid = () => randomBytes(4).toString('hex');

export interface TestEnv {
  id: string;
  home: string;
  config: AtlasConfig;
  /** Environment variables that give a child process (CLI, worker) the same configuration. */
  env: NodeJS.ProcessEnv;
  client: Client;
  cleanup(): Promise<void>;
}

export async function makeEnv(
  overrides: Record<string, string | number> = {},
  options: { seedTasks?: number; /** A test's own Temporal server instead of the suite's. */ temporalAddress?: string } = {},
): Promise<TestEnv> {
  const id = uid();
  const address = options.temporalAddress ?? inject('temporalAddress');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `atlas-home-${id}-`));
  ensureHome(home, { demo: true, seedTasks: options.seedTasks ?? 120 });
  const env: NodeJS.ProcessEnv = {
    ATLAS_HOME: home,
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: 'default',
    ATLAS_TASK_QUEUE: `atlas-test-${id}`,
    ATLAS_SCHEDULE_PREFIX: `t${id}-atlas-`,
    ATLAS_HOST: `host-${id}`,
    ATLAS_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
  };
  const config = loadConfig({ env: { ...env }, overrides });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: 'default' });
  return {
    id,
    home,
    config,
    env,
    client,
    async cleanup() {
      for await (const s of client.schedule.list()) {
        if (s.scheduleId.startsWith(config.scheduleIdPrefix)) await client.schedule.getHandle(s.scheduleId).delete().catch(() => undefined);
      }
      await connection.close();
      if (!process.env.ATLAS_KEEP_TEST_FILES) fs.rmSync(home, { recursive: true, force: true });
    },
  };
}

/** A worker in this process; stop() shuts it down and waits. */
export async function startWorker(t: TestEnv, config: AtlasConfig = t.config, options: { replicator?: Replicator } = {}) {
  const worker = await createAtlasWorker(config, { workflowBundlePath: inject('workflowBundlePath'), client: t.client, replicator: options.replicator });
  const running = worker.run();
  return {
    worker,
    async stop() {
      worker.shutdown();
      await running;
    },
  };
}

/**
 * A killed worker's step is run again once its timeout passes: 15 s here instead of the 30 s
 * default, so each SIGKILL of the fault suite waits half as long (still far above a step's run time).
 */
const KILLED_WORKER_TIMEOUTS = { ATLAS_STEP_TIMEOUT: '15s', ATLAS_HEARTBEAT_TIMEOUT: '15s' };

/** The worker as a child process (`atlas-ops worker`), so a test can SIGKILL it. */
export function spawnWorker(t: TestEnv, extraEnv: NodeJS.ProcessEnv = {}): ChildProcess {
  const log = fs.openSync(path.join(t.home, 'logs', `worker-${Date.now()}.log`), 'a');
  const child = spawn(process.execPath, [path.join(REPO, 'bin', 'atlas-ops.js'), 'worker'], {
    env: { ...process.env, ...KILLED_WORKER_TIMEOUTS, ...t.env, ...extraEnv },
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  return child;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI in a child process with the test's configuration. */
export function runCli(t: TestEnv | undefined, args: string[], extraEnv: NodeJS.ProcessEnv = {}, timeoutMs = 90_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO, 'bin', 'atlas-ops.js'), ...args], {
      env: { ...process.env, ...(t?.env ?? {}), ...extraEnv, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Schedules named as the configuration names them, each firing rarely, some already paused. */
export async function createSchedules(t: TestEnv, names: string[], paused: string[] = []): Promise<void> {
  for (const name of names) {
    const id = scheduleId(t.config, name);
    try {
      await t.client.schedule.getHandle(id).delete();
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
    await t.client.schedule.create({
      scheduleId: id,
      spec: { intervals: [{ every: '1 day' }] },
      action: { type: 'startWorkflow', workflowType: 'noSuchWorkflow', taskQueue: `${t.config.taskQueue}-unused`, args: [] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
      state: paused.includes(name) ? { paused: true, note: 'paused by the operator for testing' } : {},
    });
  }
}

export async function schedulePaused(t: TestEnv, name: string): Promise<{ paused: boolean; note?: string }> {
  const d = await t.client.schedule.getHandle(scheduleId(t.config, name)).describe();
  return { paused: d.state.paused, note: d.state.note };
}

/** Polls until fn returns a truthy value. */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 60_000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
