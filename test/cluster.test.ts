// The PostgreSQL-backed Temporal cluster built from source (`atlas-ops cluster up`,
// docs/architecture.md#deployment-shapes), started once for this file: frontend, history, matching
// and worker as separate processes, PostgreSQL as an unprivileged user, the UI server. On it two
// Atlas hosts (vm-a, vm-b: two workers, two homes, one task queue); a maintenance survives SIGKILL
// of history, matching and frontend and a PostgreSQL restart during its edit wait, and a backup the
// same kills during an activity (an OCI poll held by the emulator), each completing exactly once; the UI server lists it and opens it in chromium; bad input fails clearly and
// leaves nothing running. Skipped only where PostgreSQL or a way to get the server (Go or a
// cached build) is missing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import { ClusterPaths, clusterDown, clusterStatus, clusterUp, frontendAddress, readState, startClusterPostgres, startService, uiUrl, type ClusterState } from '../src/cluster/cluster';
import { SERVICES, type Service } from '../src/cluster/settings';
import { ownershipOf } from '../src/owned-process';
import { atlasPaths } from '../src/paths';
import { openDatabase } from '../src/db/sqlite';
import { procStat, procUser } from '../src/proc';
import { allocatePort } from '../src/ports';
import type { BackupResult } from '../workflows/backup';
import { statusQuery, type ProcedureStatus } from '../workflows/lib/procedure';
import { startAtlas, type Atlas } from './helpers/atlas';
import { eventually, runCli, uid } from './helpers/env';
import { clusterUnavailable } from './helpers/cluster';

const why = clusterUnavailable();
if (why) console.warn(`cluster test skipped: ${why}`);

const CHROMIUM = process.env.ATLAS_CHROMIUM ?? '/usr/bin/chromium';

describe.skipIf(why)('a Temporal cluster built from source, with two Atlas hosts', () => {
  let dir: string;
  let state: ClusterState;
  let a: Atlas;
  let b: Atlas;
  /** The one task queue both hosts' workers serve. */
  let taskQueue: string;
  /** What a CLI on that host runs with: its home, the shared queue, its host and schedule prefix. */
  const hostEnv = (h: Atlas) => ({ ...h.env, ATLAS_TASK_QUEUE: taskQueue, ATLAS_HOST: h.config.host, ATLAS_SCHEDULE_PREFIX: h.config.scheduleIdPrefix });
  const aEnv = () => hostEnv(a);
  const bEnv = () => hostEnv(b);

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-cluster-'));
    await clusterUp({ dir, pickPorts: true });
    state = readState(dir)!;
    const id = uid();
    taskQueue = `atlas-cluster-${id}`;
    const hostConfig = (host: string) => ({ overrides: { taskQueue, host: `${host}-${id}`, scheduleIdPrefix: `t${id}-${host}-` }, temporalAddress: frontendAddress(state), seedTasks: 20 });
    // vm-a backs its volume up to the OCI emulator: its poll is an activity a test can hold.
    a = await startAtlas({ ...hostConfig('vm-a'), worker: true, oci: { volumes: ['ocid1.volume.oc1..cluster'], availableAfterMs: 0, pollInterval: 200 } });
    b = await startAtlas({ ...hostConfig('vm-b'), worker: true });
  }, 900_000);

  afterAll(async () => {
    await b?.cleanup().catch(() => undefined);
    await a?.cleanup().catch(() => undefined);
    if (dir) await clusterDown(dir);
    if (dir && !process.env.ATLAS_KEEP_TEST_FILES) fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  const pidOf = (name: string) => {
    const o = ownershipOf(new ClusterPaths(dir).record(name as Service));
    if (o.state !== 'ours') throw new Error(`${name} is not running (${o.state})`);
    return o.record.pid;
  };
  const gone = (pid: number) => eventually(() => !procStat(pid), 30_000, `pid ${pid} to end`);

  it('runs PostgreSQL as an unprivileged user and the four services as separate processes, with the namespace and search attributes', async () => {
    const s = clusterStatus(dir);
    expect(s.processes.map((p) => [p.name, p.state])).toEqual([['postgres', 'running'], ...SERVICES.map((x) => [x, 'running']), ['ui', 'running']]);
    const pids = s.processes.map((p) => p.pid);
    expect(new Set(pids).size).toBe(pids.length);
    expect(procUser(pidOf('postgres'))).toBe('nobody');
    const attrs = await a.client.connection.operatorService.listSearchAttributes({ namespace: 'default' });
    expect(Object.keys(attrs.customAttributes ?? {})).toEqual(expect.arrayContaining(['AtlasProcedure', 'AtlasPhase', 'AtlasHost', 'AtlasWaitingFor']));
    const cli = await runCli(undefined, ['cluster', 'status', '--dir', dir]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/history\s+running/);
  });

  it('a maintenance from vm-b\'s CLI runs on vm-b, survives SIGKILL of history, matching and frontend and a PostgreSQL restart in its edit wait, and completes once', async () => {
    const aHome = atlasPaths(a.home);
    const bHome = atlasPaths(b.home);
    const aBackups = fs.readdirSync(aHome.backupsDir).sort();
    const started = await runCli(undefined, ['--json', 'maintenance', 'start', '--reason', 'cluster'], bEnv());
    expect(started.code, started.stderr + started.stdout).toBe(0);
    const wfId = JSON.parse(started.stdout).workflowId as string;
    const handle = a.client.workflow.getHandle(wfId);
    const waiting = () => eventually(async () => {
      const s = await handle.query<ProcedureStatus>(statusQuery).catch(() => undefined);
      return s?.phase === 'edit' && s.state === 'waiting' ? s : undefined;
    }, 120_000, `${wfId} waiting for edits`);
    expect((await waiting()).host).toBe(b.config.host);
    expect(fs.existsSync(bHome.maintenanceFlag)).toBe(true);
    expect(fs.existsSync(aHome.maintenanceFlag)).toBe(false);

    for (const service of ['history', 'matching', 'frontend'] as const) {
      const pid = pidOf(service);
      process.kill(pid, 'SIGKILL');
      await gone(pid);
      await startService(dir, service);
      await waiting();
    }
    // PostgreSQL: a fast shutdown (SIGINT) while everything runs, then started again.
    const pg = pidOf('postgres');
    process.kill(pg, 'SIGINT');
    await gone(pg);
    await startClusterPostgres(dir);
    await waiting();

    const db = openDatabase(bHome.atlasDb, { wal: true });
    const errorsBefore = (db.prepare('SELECT count(*) AS n FROM errors').get() as { n: number }).n;
    db.prepare("INSERT INTO errors (at, source, level, message) VALUES ('2026-01-01T00:00:00Z', 'ops', 'info', 'edited on the cluster')").run();
    db.close();
    await eventually(async () => (await runCli(undefined, ['maintenance', 'resume', wfId, '--by', 'dana'], bEnv())).code === 0, 60_000, 'resume to be accepted');
    expect((await handle.result() as { outcome: string }).outcome).toBe('completed');

    // Exactly once: one snapshot in vm-b's home, the edit kept once, no flag left; vm-a untouched.
    expect(fs.readdirSync(bHome.backupsDir).filter((f) => f.endsWith('.db'))).toHaveLength(1);
    const after = openDatabase(bHome.atlasDb);
    expect((after.prepare('SELECT count(*) AS n FROM errors').get() as { n: number }).n).toBe(errorsBefore + 1);
    after.close();
    expect(fs.existsSync(bHome.maintenanceFlag)).toBe(false);
    expect(fs.readdirSync(aHome.backupsDir).sort()).toEqual(aBackups);
  }, 600_000);

  it('a backup whose OCI activity is held survives SIGKILL of history, matching and frontend during that activity, and makes each backup once', async () => {
    const dbs = () => fs.readdirSync(atlasPaths(a.home).backupsDir).filter((f) => f.endsWith('.db')).length;
    const [ociBefore, localBefore] = [a.oci.backups().length, dbs()];
    // The volume backup stays CREATING, so the backup's activity keeps polling it (heartbeating) until released.
    a.oci.faults.holdCreating = true;
    const handle = await a.client.workflow.start('backup', { taskQueue, workflowId: `cluster-oci-${uid()}`, args: [{ oci: true, reason: 'cluster', hostQueue: `${taskQueue}@${a.config.host}` }] });
    try {
      const id = await eventually(() => a.oci.backups()[ociBefore]?.id, 120_000, 'the OCI volume backup to be requested');
      for (const service of ['history', 'matching', 'frontend'] as const) {
        const pid = pidOf(service);
        process.kill(pid, 'SIGKILL');
        await gone(pid);
        await startService(dir, service);
        const polls = a.oci.statesServed(id).length;
        await eventually(() => a.oci.statesServed(id).length > polls, 60_000, `the activity still polling after ${service} came back`);
      }
    } finally {
      a.oci.faults.holdCreating = false;
    }
    const r = (await handle.result()) as BackupResult;
    expect(r.outcome).toBe('completed');
    expect(r.oci?.state).toBe('AVAILABLE');
    expect(a.oci.backups().slice(ociBefore)).toHaveLength(1);
    expect(dbs()).toBe(localBefore + 1);
  }, 600_000);

  it('a backup from vm-a\'s CLI runs on vm-a; each host\'s schedules exist side by side', async () => {
    const bBackups = fs.readdirSync(atlasPaths(b.home).backupsDir).sort();
    const r = await runCli(undefined, ['--json', 'backup', '--wait'], aEnv());
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(fs.readdirSync(atlasPaths(b.home).backupsDir).sort()).toEqual(bBackups);
    for (const env of [aEnv(), bEnv()]) expect((await runCli(undefined, ['schedules', 'apply'], env)).code).toBe(0);
    const ids = [];
    for await (const s of a.client.schedule.list()) ids.push(s.scheduleId);
    expect(ids).toEqual(expect.arrayContaining([`${a.config.scheduleIdPrefix}backup`, `${b.config.scheduleIdPrefix}backup`]));
  }, 300_000);

  it.skipIf(!fs.existsSync(CHROMIUM))('the UI server lists a running procedure and opens it in chromium', async () => {
    const handle = await a.client.workflow.start('maintenance', { taskQueue, workflowId: `cluster-ui-${uid()}`, args: [{ reason: 'ui', editTimeout: '1h', hostQueue: `${taskQueue}@${a.config.host}` }] });
    try {
      await eventually(async () => (await handle.query<ProcedureStatus>(statusQuery)).phase === 'edit', 60_000, 'maintenance in its edit wait');
      const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-cluster-ui-'));
      const browser = await chromium.launchPersistentContext(path.join(scratch, 'profile'), {
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      try {
        const page = browser.pages()[0] ?? (await browser.newPage());
        const row = page.getByRole('link', { name: handle.workflowId, exact: true });
        await eventually(async () => {
          await page.goto(`${uiUrl(state)}/namespaces/default/workflows`);
          await row.waitFor({ timeout: 5000 }).catch(() => undefined);
          return row.isVisible();
        }, 60_000, 'the running maintenance in the UI list');
        await row.click();
        await page.waitForURL(new RegExp(`/workflows/${handle.workflowId}/`));
        // The workflow's own page: its id in the heading, its type shown.
        await page.getByText(handle.workflowId).first().waitFor({ timeout: 30_000 });
        await page.getByText('maintenance', { exact: true }).first().waitFor({ timeout: 30_000 });
        expect(await page.getByText(handle.workflowId).first().isVisible()).toBe(true);
      } finally {
        await browser.close();
        fs.rmSync(scratch, { recursive: true, force: true });
      }
    } finally {
      await handle.terminate('test done').catch(() => undefined);
      fs.rmSync(atlasPaths(a.home).maintenanceFlag, { force: true });
    }
  }, 180_000);

  it('a worker with an unreachable frontend names the address and what to check', async () => {
    const port = await allocatePort();
    const r = await runCli(undefined, ['worker'], { ...aEnv(), TEMPORAL_ADDRESS: `127.0.0.1:${port}` }, 60_000);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`cannot reach the Temporal server at 127.0.0.1:${port}`);
    expect(r.stderr).toMatch(/TEMPORAL_ADDRESS/);
  });

  it('a second cluster whose port is taken names the port and leaves nothing running', async () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-cluster-taken-'));
    // The same ports as the running cluster: every one is taken.
    fs.writeFileSync(path.join(other, 'cluster.json'), JSON.stringify({ ...state }));
    try {
      const r = await runCli(undefined, ['cluster', 'up', '--dir', other]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`frontend gRPC port ${state.ports.grpc.frontend}`);
      expect(r.stderr).toContain(`PostgreSQL port ${state.ports.postgres}`);
      expect(r.stderr).toMatch(/nothing was started/);
      expect(clusterStatus(other).processes.every((p) => p.state === 'stopped')).toBe(true);
      expect(fs.existsSync(path.join(other, 'pgdata'))).toBe(false);
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  it.skipIf(process.getuid?.() !== 0)('a directory PostgreSQL\'s unprivileged user cannot reach is named before anything starts', async () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-cluster-private-'));
    try {
      const r = await runCli(undefined, ['cluster', 'up', '--dir', path.join(parent, 'c'), '--pick-ports']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`PostgreSQL runs as nobody, which cannot enter ${parent} (mode 0700)`);
      expect(r.stderr).toMatch(/nothing was started/);
      expect(fs.readdirSync(path.join(parent, 'c'))).toEqual([]);
    } finally {
      fs.rmSync(parent, { recursive: true, force: true });
    }
  });

  it('a PostgreSQL that refuses the login fails `cluster up` naming it, leaving nothing running; a schema older than the server wants stops the service with the server\'s words', async () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-cluster-refused-'));
    try {
      await clusterUp({ dir: other, pickPorts: true });
      await clusterDown(other);
      // The password atlas-ops holds no longer matches PostgreSQL's: it refuses every login.
      const paths = new ClusterPaths(other);
      const password = fs.readFileSync(paths.password, 'utf8');
      fs.writeFileSync(paths.password, 'not-the-password');
      const r = await runCli(undefined, ['cluster', 'up', '--dir', other]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/temporal-sql-tool create-database on temporal failed .*password authentication failed/);
      expect(clusterStatus(other).processes.every((p) => p.state === 'stopped')).toBe(true);

      // A schema older than the server wants (a service started without `up`'s schema update): the
      // service exits at start and the error carries the server's own words.
      fs.writeFileSync(paths.password, password);
      await startClusterPostgres(other);
      const port = readState(other)!.ports.postgres;
      const psql = spawnSync('/usr/lib/postgresql/15/bin/psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'temporal', '-d', 'temporal', '-c', "UPDATE schema_version SET curr_version = '1.0'"], { encoding: 'utf8', env: { ...process.env, PGPASSWORD: password } });
      expect(psql.status, psql.stderr).toBe(0);
      const err = await startService(other, 'history').catch((e: unknown) => e as Error);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/the history service exited at start: .*version/i);
    } finally {
      await clusterDown(other);
      fs.rmSync(other, { recursive: true, force: true });
    }
  }, 180_000);
});
