// `npm start` (atlas-ops dev) for real: its own Temporal dev server with the Web UI, the worker, the
// schedules and a demo home; SIGTERM stops everything and the next start keeps the state.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allocatePort, allocatePorts } from '../src/ports';
import { openDatabase, rowCounts } from '../src/db/sqlite';
import { REPO, eventually, runCli } from './helpers/env';
import { looserThanAllowed } from './helpers/modes';

interface Dev {
  child: ChildProcess;
  output: () => string;
}

/** Started under umask 000, the loosest an operator's shell can leave: atlas-ops sets its own. */
function startDev(home: string, port: number, uiPort: number, sqliteWebPort: number): Dev {
  let out = '';
  const argv = [process.execPath, path.join(REPO, 'bin', 'atlas-ops.js'), '--home', home, 'dev', '--port', String(port), '--ui-port', String(uiPort)];
  const child = spawn('sh', ['-c', 'umask 000; exec "$@"', 'sh', ...argv], {
    env: { ...process.env, ATLAS_HOST: 'devhost', ATLAS_SQLITE_WEB_PORT: String(sqliteWebPort), NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

/** Waits for "ready."; fails at once, with what dev printed, if it exits first or never gets there. */
async function ready(dev: Dev, what: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!dev.output().includes('ready.')) {
    if (dev.child.exitCode !== null) throw new Error(`${what}: dev exited with code ${dev.child.exitCode}:\n${dev.output()}`);
    if (Date.now() > deadline) throw new Error(`${what}: not ready after 120 s:\n${dev.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** True while something still accepts connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function stop(dev: Dev): Promise<number | null> {
  return new Promise((resolve) => {
    if (dev.child.exitCode !== null) return resolve(dev.child.exitCode);
    dev.child.once('exit', (code) => resolve(code));
    dev.child.kill('SIGTERM');
  });
}

describe('atlas-ops dev', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-dev-'));
  let dev: Dev | undefined;
  afterAll(async () => {
    if (dev) await stop(dev);
    // A failed run may leave the sqlite-web it started: end it by its record.
    try {
      process.kill(-(JSON.parse(fs.readFileSync(path.join(home, 'run', 'sqlite-web.pid'), 'utf8')) as { pid: number }).pid, 'SIGKILL');
    } catch {
      /* none left */
    }
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('brings up the server, UI, worker and demo home; a restart keeps a running procedure', async () => {
    const [port, uiPort, sqliteWebPort] = await allocatePorts(3);
    dev = startDev(home, port, uiPort, sqliteWebPort);
    await ready(dev, 'first start');
    expect(dev.output()).toContain(`Temporal gRPC  127.0.0.1:${port}`);
    expect(dev.output()).toContain(`Temporal Web UI http://127.0.0.1:${uiPort}`);
    // What it started, for the CLI in this home (run/dev.json, 0640), gone once it stops.
    const devFile = path.join(home, 'run', 'dev.json');
    expect(fs.statSync(devFile).mode & 0o777).toBe(0o640);
    const recorded = JSON.parse(fs.readFileSync(devFile, 'utf8')) as { process: { pid: number }; settings: Record<string, string> };
    expect(recorded.process.pid).toBe(dev.child.pid);
    expect(recorded.settings).toMatchObject({ 'temporal.address': `127.0.0.1:${port}`, 'temporal.uiUrl': `http://127.0.0.1:${uiPort}` });
    expect(recorded.settings['sheets.rootUrl']).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);

    // The demo home: schema v1 with seeded data, ops.db, and the Temporal state file.
    const db = openDatabase(path.join(home, 'data', 'atlas.db'), { readonly: true });
    const counts = rowCounts(db);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    expect(counts.tasks).toBe(200);
    expect(counts.approvals).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(home, 'temporal.db'))).toBe(true);

    // The Web UI answers on its port.
    const ui = await fetch(`http://127.0.0.1:${uiPort}/`);
    expect(ui.status).toBe(200);

    const env = { TEMPORAL_ADDRESS: `127.0.0.1:${port}`, ATLAS_HOME: home, ATLAS_HOST: 'devhost', ATLAS_SQLITE_WEB_PORT: String(sqliteWebPort) };
    // Replicating out of the box: the demo atlas.db reaches the local S3 server dev started, and
    // `replication status` (reading dev's settings from the home) shows it running, lag at most 2 s.
    const replication = await eventually(async () => {
      const r = await runCli(undefined, ['--json', 'replication', 'status'], env);
      const s = JSON.parse(r.stdout) as { state: string; lagSeconds?: number; replicaTxid?: string; replicaUrl?: string };
      return s.state === 'running' && s.replicaTxid && s.lagSeconds !== undefined && s.lagSeconds <= 2 ? s : undefined;
    }, 60_000, 'replication running with a lag of at most 2 s');
    expect(replication.replicaUrl).toMatch(/^s3:\/\/[a-z0-9.-]+\/atlas\?endpoint=http:\/\/127\.0\.0\.1:\d+/);

    const schedulesBefore = await runCli(undefined, ['--json', 'schedules', 'list'], env);
    expect(schedulesBefore.code, schedulesBefore.stderr).toBe(0);
    const start = await runCli(undefined, ['--json', 'maintenance', 'start', '--reason', 'survive a restart', '--sqlite-web'], env);
    expect(start.code, start.stderr).toBe(0);
    const { workflowId } = JSON.parse(start.stdout) as { workflowId: string };
    await eventually(async () => ((s) => s.phase === 'edit' && s.state === 'waiting')(JSON.parse((await runCli(undefined, ['--json', 'maintenance', 'status', workflowId], env)).stdout)), 60_000, 'the edit wait');
    expect(await listening(sqliteWebPort)).toBe(true);

    // Everything dev created so far (the demo home, ops.db, the emulator's state, the flag, logs,
    // run/*, the Temporal state) is 0640 at most, folders 0750, the pid record 0600; and the
    // security audit of this fresh home finds nothing.
    const pidFile = path.join(home, 'run', 'sqlite-web.pid');
    expect(fs.statSync(pidFile).mode & 0o777).toBe(0o600);
    for (const f of ['sheets-emulator.json', 'data/.maintenance', 'run/sheets-emulator.url', 'logs/procedures.log', 'logs/sqlite-web.log', 'temporal.db']) {
      expect(fs.existsSync(path.join(home, f)), f).toBe(true);
    }
    expect(looserThanAllowed(home, (f) => f === pidFile)).toEqual([]);
    const audit = await runCli(undefined, ['--json', 'report', 'security'], env);
    expect(JSON.parse(audit.stdout).findings, audit.stderr).toEqual([]);
    expect(audit.code).toBe(0);

    // SIGTERM stops everything cleanly: exit 0, nothing left listening.
    expect(await stop(dev)).toBe(0);
    expect(fs.existsSync(devFile)).toBe(false);
    const probe = await runCli(undefined, ['schedules', 'list'], env);
    expect(probe.code).toBe(4);

    // The next start keeps the state: the procedure is still waiting for edits, and completes.
    // (Its ports must be free first: dev refuses a port in use, and a loaded machine can take a moment.)
    await eventually(async () => !(await listening(port)) && !(await listening(uiPort)), 30_000, 'the ports to be released');
    // sqlite-web outlives the stack (its own process group): the next worker proves it ours and stops it.
    expect(await listening(sqliteWebPort)).toBe(true);
    dev = startDev(home, port, uiPort, sqliteWebPort);
    await ready(dev, 'restart');
    expect(dev.output()).not.toContain('created a demo Atlas home');
    const schedulesAfter = await runCli(undefined, ['--json', 'schedules', 'list'], env);
    expect(JSON.parse(schedulesAfter.stdout).map((s: { id: string }) => s.id)).toEqual(JSON.parse(schedulesBefore.stdout).map((s: { id: string }) => s.id));
    await eventually(async () => JSON.parse((await runCli(undefined, ['--json', 'maintenance', 'status', workflowId], env)).stdout).phase === 'edit', 60_000, 'edit phase after restart');
    const resume = await runCli(undefined, ['--json', 'maintenance', 'resume', workflowId, '--by', 'test'], env);
    expect(resume.code, resume.stdout + resume.stderr).toBe(0);
    const done = await eventually(async () => {
      const s = JSON.parse((await runCli(undefined, ['--json', 'status', workflowId], env)).stdout);
      return s.execution === 'COMPLETED' ? s : undefined;
    }, 60_000, 'completion');
    expect(done.result.outcome).toBe('completed');
    expect(await listening(sqliteWebPort)).toBe(false);
    expect(fs.existsSync(pidFile)).toBe(false);
  });

  it('refuses a port that is already taken, naming it', async () => {
    const port = await allocatePort();
    const blocker = (await import('node:net')).createServer().listen(port, '127.0.0.1');
    try {
      const res = await runCli(undefined, ['--home', path.join(home, 'other'), 'dev', '--port', String(port), '--ui-port', String(await allocatePort())]);
      expect(res.code).toBe(1);
      expect(res.stderr).toContain(`--port ${port}: already in use`);
      expect(fs.existsSync(path.join(home, 'other'))).toBe(false);
    } finally {
      blocker.close();
    }
  });
});

describe('the Temporal CLI installer', () => {
  it('without the CLI and without Go it stops with a message saying how to install it', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-nogo-'));
    const res = spawnSync(process.execPath, [path.join(REPO, 'scripts', 'install-temporal-cli.js')], {
      env: { PATH: empty, XDG_CACHE_HOME: empty, HOME: empty },
      encoding: 'utf8',
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/Temporal CLI was not found and Go is not installed/);
    expect(res.stderr).toMatch(/TEMPORAL_CLI=/);
    // From `npm install` the same situation must not fail the install.
    const soft = spawnSync(process.execPath, [path.join(REPO, 'scripts', 'install-temporal-cli.js'), '--if-missing'], {
      env: { PATH: empty, XDG_CACHE_HOME: empty, HOME: empty },
      encoding: 'utf8',
    });
    expect(soft.status).toBe(0);
    fs.rmSync(empty, { recursive: true, force: true });
  });

  it('a TEMPORAL_CLI that is not executable is named in the error', () => {
    const res = spawnSync(process.execPath, [path.join(REPO, 'scripts', 'install-temporal-cli.js')], {
      env: { ...process.env, TEMPORAL_CLI: '/nonexistent/temporal' },
      encoding: 'utf8',
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toContain('TEMPORAL_CLI=/nonexistent/temporal is not an executable file');
  });
});
