// Two Atlas hosts on one Temporal namespace and task queue (docs/safety.md#the-home-and-host-asked):
// a procedure runs its host steps on the host it was started for, never on whichever worker takes
// its first activity from the shared queue. vm-a runs a whole worker (it alone serves the shared
// queue, so it answers every procedure's first activity); vm-b runs only its host-queue worker.
// Before the fix a maintenance started from vm-b's CLI set the flag and took the snapshot in vm-a's
// home; each host's `schedules apply` wrote the same schedule ids.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterEach, describe, expect, it } from 'vitest';
import { createActivities } from '../activities';
import { hostTaskQueue, loadConfig, type AtlasConfig } from '../src/config';
import { ensureHome } from '../src/home';
import { atlasPaths } from '../src/paths';
import { workerIdentity } from '../src/target';
import { statusQuery, type ProcedureStatus } from '../workflows/lib/procedure';
import { useAtlas } from './helpers/atlas';
import { eventually, runCli } from './helpers/env';

const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const listing = (dir: string) => fs.readdirSync(dir).sort();

describe('two Atlas hosts on one namespace', () => {
  const b: { home: string; config: AtlasConfig; env: NodeJS.ProcessEnv; stop?: () => Promise<void> } = {} as never;
  const t = useAtlas({
    worker: true,
    overrides: { 'maintenance.editTimeout': '10m' },
    async prepare(a) {
      b.home = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-vm-b-'));
      ensureHome(b.home, { demo: true, seedTasks: 20 });
      a.defer(() => fs.rmSync(b.home, { recursive: true, force: true }));
      // vm-b: same namespace and task queue, its own home, host and schedule prefix.
      b.env = { ...a.env, ATLAS_HOME: b.home, ATLAS_HOST: `vm-b-${a.id}`, ATLAS_SCHEDULE_PREFIX: `t${a.id}-vm-b-` };
      b.config = loadConfig({ env: { ...b.env } });
      const { host } = createActivities({ config: b.config, client: a.client });
      const connection = await NativeConnection.connect({ address: b.config.temporal.address });
      const worker = await Worker.create({
        connection,
        namespace: b.config.temporal.namespace,
        taskQueue: hostTaskQueue(b.config),
        identity: workerIdentity(b.home),
        activities: host,
      });
      const running = worker.run();
      b.stop = async () => {
        worker.shutdown();
        await running;
        await connection.close();
      };
      a.defer(() => b.stop?.());
    },
  });

  afterEach(async () => {
    // A failed test leaves no procedure holding either home.
    for await (const wf of t.client.workflow.list({ query: `TaskQueue = '${t.config.taskQueue}' AND ExecutionStatus = 'Running'` })) {
      await t.client.workflow.getHandle(wf.workflowId).terminate('test cleanup').catch(() => undefined);
    }
  });

  /** Both homes' atlas.db, flags and backups. */
  const homes = () => ({
    a: { db: sha(atlasPaths(t.home).atlasDb), flag: fs.existsSync(atlasPaths(t.home).maintenanceFlag), backups: listing(atlasPaths(t.home).backupsDir) },
    b: { db: sha(atlasPaths(b.home).atlasDb), flag: fs.existsSync(atlasPaths(b.home).maintenanceFlag), backups: listing(atlasPaths(b.home).backupsDir) },
  });

  it('a maintenance started from vm-b\'s CLI runs every host step on vm-b and touches only vm-b\'s home', async () => {
    const aBefore = homes().a;
    const started = await runCli(undefined, ['--json', 'maintenance', 'start', '--reason', 'two hosts'], b.env);
    expect(started.code, started.stderr + started.stdout).toBe(0);
    const id = JSON.parse(started.stdout).workflowId as string;
    const handle = t.client.workflow.getHandle(id);
    const editing = await eventually(async () => {
      const s = await handle.query<ProcedureStatus>(statusQuery);
      return s.phase === 'edit' && s.state === 'waiting' ? s : undefined;
    }, 60_000, `${id} waiting for edits`);
    expect(editing.host).toBe(b.config.host);
    // The flag and the snapshot are in vm-b's home.
    expect(homes().b.flag).toBe(true);
    expect(homes().b.backups.some((f) => f.endsWith('.db'))).toBe(true);
    expect(homes().a).toEqual(aBefore);

    const resumed = await runCli(undefined, ['maintenance', 'resume', id, '--by', 'dana'], b.env);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect((await handle.result() as { outcome: string }).outcome).toBe('completed');
    // Every activity of the run was on vm-b's queue, save the context asked from the shared one.
    const queues = new Set<string>();
    for (const e of (await handle.fetchHistory()).events ?? []) {
      const q = e.activityTaskScheduledEventAttributes?.taskQueue?.name;
      if (q) queues.add(q);
    }
    expect([...queues].sort()).toEqual([t.config.taskQueue, hostTaskQueue(b.config)].sort());
    expect(homes().a).toEqual(aBefore);
    expect(homes().b.flag).toBe(false);
  });

  it('a backup started from vm-a\'s CLI runs on vm-a and leaves vm-b\'s home alone', async () => {
    const bBefore = homes().b;
    const r = await runCli(t, ['--json', 'backup', '--wait']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(homes().b).toEqual(bBefore);
    expect(homes().a.backups.some((f) => f.endsWith('.db'))).toBe(true);
  });

  it('each host\'s schedules exist side by side and name their host\'s queue; a host may not take another\'s ids', async () => {
    const a = await runCli(t, ['--json', 'schedules', 'apply']);
    expect(a.code, a.stderr).toBe(0);
    const bApplied = await runCli(undefined, ['--json', 'schedules', 'apply'], b.env);
    expect(bApplied.code, bApplied.stderr).toBe(0);
    for (const [config, queue] of [[t.config, hostTaskQueue(t.config)], [b.config, hostTaskQueue(b.config)]] as const) {
      const d = await t.client.schedule.getHandle(`${config.scheduleIdPrefix}backup`).describe();
      expect((d.action as { args?: unknown[] }).args).toEqual([{ hostQueue: queue }]);
    }
    // vm-b configured with vm-a's prefix: refused, naming the schedule and what to set; nothing changed.
    const before = await t.client.schedule.getHandle(`${t.config.scheduleIdPrefix}backup`).describe();
    const clash = await runCli(undefined, ['schedules', 'apply'], { ...b.env, ATLAS_SCHEDULE_PREFIX: t.config.scheduleIdPrefix });
    expect(clash.code).toBe(2);
    expect(clash.stderr).toContain(`${t.config.scheduleIdPrefix}backup (runs on ${hostTaskQueue(t.config)})`);
    expect(clash.stderr).toContain(`ATLAS_SCHEDULE_PREFIX=${t.config.scheduleIdPrefix}${b.config.host}-`);
    const after = await t.client.schedule.getHandle(`${t.config.scheduleIdPrefix}backup`).describe();
    expect(after.action).toEqual(before.action);
    // A run of vm-b's schedule, taken by vm-a's worker from the shared queue, backs up vm-b's home.
    const bBackups = listing(atlasPaths(b.home).backupsDir).length;
    const aBackups = listing(atlasPaths(t.home).backupsDir);
    await t.client.schedule.getHandle(`${b.config.scheduleIdPrefix}backup`).trigger();
    await eventually(() => listing(atlasPaths(b.home).backupsDir).length > bBackups, 60_000, 'a backup in vm-b\'s home');
    expect(listing(atlasPaths(t.home).backupsDir)).toEqual(aBackups);
    // b's schedules are removed by the test (its env is not the harness's).
    for await (const s of t.client.schedule.list()) {
      if (s.scheduleId.startsWith(b.config.scheduleIdPrefix)) await t.client.schedule.getHandle(s.scheduleId).delete();
    }
  });
});
