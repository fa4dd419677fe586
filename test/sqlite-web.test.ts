// sqlite-web's start and stop activities against a real sqlite_web: a pid file never makes atlas-ops
// signal a process it cannot prove it started, and a listener it leaves fails the stop, named.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ActivityContext } from '../activities/deps';
import { createHostActivities } from '../activities/host';
import { which } from '../src/command-runner';
import { loadConfig } from '../src/config';
import { ensureHome } from '../src/home';
import { allocatePort } from '../src/ports';
import { procStat } from '../src/proc';
import { failure } from '../src/workflow-safe/failures';
import { eventually } from './helpers/env';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-sqlite-web-'));
const pidFile = path.join(home, 'run', 'sqlite-web.pid');
const others: ChildProcess[] = [];
let port: number;

/** A worker's host activities; a new call is a restarted worker (nothing remembered in memory). */
const worker = () => createHostActivities(new ActivityContext({ config: loadConfig({ env: { ATLAS_HOME: home }, overrides: { 'sqliteWeb.port': port } }), client: {} as Client }));

const alive = (pid: number) => {
  const s = procStat(pid);
  return s !== undefined && s.state !== 'Z';
};
const listening = (p: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port: p });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
const recordedPid = () => (JSON.parse(fs.readFileSync(pidFile, 'utf8')) as { pid: number }).pid;

beforeAll(async () => {
  if (!which('sqlite_web')) throw new Error('sqlite_web is not installed: .ci/run installs it with `pip install sqlite-web`');
  ensureHome(home, { demo: true, seedTasks: 5 });
  port = await allocatePort();
});
afterAll(() => {
  for (const c of others) c.kill('SIGKILL');
  if (fs.existsSync(pidFile)) {
    try {
      process.kill(-recordedPid(), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  fs.rmSync(home, { recursive: true, force: true });
});

describe('sqlite-web, started and stopped by atlas-ops', () => {
  it('a leftover of ours (a worker restarted since) is proven by its pid file and stopped', async () => {
    expect(await worker().startSqliteWeb({ port })).toMatchObject({ started: true, url: `http://127.0.0.1:${port}` });
    // What proves it ours: pid, start time and command line, in a file only this user reads.
    expect(fs.statSync(pidFile).mode & 0o777).toBe(0o600);
    const record = JSON.parse(fs.readFileSync(pidFile, 'utf8')) as { pid: number; startTime: string; cmdline: string[] };
    expect(record.startTime).toBe(procStat(record.pid)!.startTime);
    expect(record.cmdline).toEqual(expect.arrayContaining(['--port', String(port), path.join(home, 'data', 'atlas.db')]));
    // Another worker (the first one restarted) finds it, reuses it, and stops it.
    expect(await worker().startSqliteWeb({ port })).toMatchObject({ started: true });
    expect(recordedPid()).toBe(record.pid);
    expect(await worker().stopSqliteWeb()).toEqual({ stopped: true });
    await eventually(async () => !(await listening(port)) && !alive(record.pid), 30_000, 'sqlite-web to end');
    expect(fs.existsSync(pidFile)).toBe(false);
  });

  it('a pid file naming another process: that process is not signalled, and the sqlite_web still listening fails the stop, named', async () => {
    expect(await worker().startSqliteWeb({ port })).toMatchObject({ started: true });
    const real = recordedPid();
    const foreign = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
    others.push(foreign);
    fs.writeFileSync(pidFile, String(foreign.pid));

    const err = await worker().stopSqliteWeb().catch((e: unknown) => e);
    expect(failure.UnprovenProcess.is(err as ApplicationFailure)).toBe(true);
    const message = (err as Error).message;
    expect(message).toContain(`127.0.0.1:${port} (sqlite-web's port) is still served by pid ${real} (`);
    expect(message).toContain(`run/sqlite-web.pid was not trusted and nothing was signalled: ${pidFile} holds no start time`);
    expect(message).toContain(`kill ${real}`);
    expect(alive(foreign.pid!)).toBe(true);
    expect(await listening(port)).toBe(true);

    // The operator stops it as told; the retried step passes, and the foreign process still runs.
    process.kill(real, 'SIGTERM');
    await eventually(async () => !(await listening(port)), 30_000, 'the operator to stop sqlite_web');
    expect(await worker().stopSqliteWeb()).toEqual({ stopped: false });
    expect(alive(foreign.pid!)).toBe(true);
  });
});
