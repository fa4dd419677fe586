// The maintenance procedure end to end: the real CLI, the real dev server, a real worker and real
// SQLite files in a temp Atlas home.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { atlasPaths } from '../src/paths';
import { listBackups } from '../src/db/snapshot';
import { integrityProblems, openDatabase, rowCounts } from '../src/db/sqlite';
import { abortSignal, statusQuery, type ProcedureStatus } from '../workflows/lib/procedure';
import { rollbackSignal, type MaintenanceResult } from '../workflows/maintenance';
import { startAtlas, useAtlas } from './helpers/atlas';
import { createSchedules, eventually, runCli, schedulePaused, spawnWorker, type TestEnv } from './helpers/env';

const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function counts(file: string): Record<string, number> {
  const db = openDatabase(file, { readonly: true });
  try {
    return rowCounts(db);
  } finally {
    db.close();
  }
}

/** Garbage over interior pages: what a bad edit or a failing disk does. */
function corruptInteriorPages(file: string): void {
  const db = openDatabase(file);
  db.pragma('wal_checkpoint(TRUNCATE)');
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  db.close();
  const fd = fs.openSync(file, 'r+');
  const garbage = crypto.randomBytes(pageSize * 3);
  fs.writeSync(fd, garbage, 0, garbage.length, pageSize * 2);
  fs.closeSync(fd);
}

async function status(t: TestEnv, id: string): Promise<ProcedureStatus> {
  return t.client.workflow.getHandle(id).query(statusQuery);
}

async function waitForPhase(t: TestEnv, id: string, phase: string, state?: string): Promise<ProcedureStatus> {
  return eventually(async () => {
    const s = await status(t, id);
    return s.phase === phase && (!state || s.state === state) ? s : undefined;
  }, 60_000, `${id} in phase ${phase}`);
}

async function startCli(t: TestEnv, args: string[] = []): Promise<string> {
  const res = await runCli(t, ['--json', 'maintenance', 'start', '--reason', 'test', ...args]);
  expect(res.code, res.stderr + res.stdout).toBe(0);
  return JSON.parse(res.stdout).workflowId as string;
}

describe('maintenance', () => {
  const t = useAtlas({ worker: true });
  afterEach(async () => {
    // Each test leaves no maintenance running.
    for await (const wf of t.client.workflow.list({ query: `TaskQueue = '${t.config.taskQueue}' AND ExecutionStatus = 'Running'` })) {
      await t.client.workflow.getHandle(wf.workflowId).terminate('test cleanup').catch(() => undefined);
    }
    fs.rmSync(atlasPaths(t.home).maintenanceFlag, { force: true });
  });

  it('runs the whole cycle: pauses, snapshots, waits for edits, verifies, unpauses exactly what it paused', async () => {
    const paths = atlasPaths(t.home);
    await createSchedules(t, ['export', 'import', 'backup'], ['backup']);
    const before = counts(paths.atlasDb);
    const beforeHash = sha256(paths.atlasDb);

    const id = await startCli(t);
    const editing = await waitForPhase(t, id, 'edit', 'waiting');
    expect(editing.waitingFor).toMatch(/edits/);

    // During the edit: the sync schedules are paused with a note naming the procedure; the one the
    // operator had paused before is left alone; the flag exists; the snapshot is verified.
    expect(await schedulePaused(t, 'export')).toEqual({ paused: true, note: `paused by maintenance ${id}` });
    expect(await schedulePaused(t, 'import')).toEqual({ paused: true, note: `paused by maintenance ${id}` });
    expect(await schedulePaused(t, 'backup')).toEqual({ paused: true, note: 'paused by the operator for testing' });
    expect(JSON.parse(fs.readFileSync(paths.maintenanceFlag, 'utf8'))).toMatchObject({ workflowId: id, reason: 'test' });
    const backups = listBackups(paths.backupsDir);
    expect(backups).toHaveLength(1);
    const snap = backups[0]!;
    expect(snap.verified).toBe(true);
    expect(snap.manifest!.sha256).toBe(sha256(snap.path));
    expect(snap.manifest!.rowCounts).toEqual(before);
    expect(snap.manifest!.reason).toContain(id);

    // The operator edits atlas.db.
    const db = openDatabase(paths.atlasDb, { wal: true });
    db.prepare("INSERT INTO errors (at, source, level, message) VALUES ('2026-01-01T00:00:00Z', 'ops', 'info', 'edited in maintenance')").run();
    db.close();

    const resumed = await runCli(t, ['maintenance', 'resume', id, '--by', 'dana', '--note', 'added one error row']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const result = (await t.client.workflow.getHandle(id).result()) as MaintenanceResult;

    expect(result.outcome).toBe('completed');
    expect(result.pausedSchedules).toEqual(['export', 'import']);
    expect(result.leftPaused).toEqual(['backup']);
    expect(result.unpausedSchedules).toEqual(['export', 'import']);
    expect(result.resumedBy).toBe('dana');
    expect(result.note).toBe('added one error row');
    expect(result.integrity).toEqual({ ok: true, problems: [] });
    expect(result.probe?.journalMode).toBe('wal');
    expect(Object.keys(result.phaseMs)).toEqual(expect.arrayContaining(['pause', 'snapshot', 'edit', 'verify', 'resume']));
    expect(result.snapshot?.file).toBe(snap.name);
    expect((await schedulePaused(t, 'export')).paused).toBe(false);
    expect((await schedulePaused(t, 'import')).paused).toBe(false);
    expect(await schedulePaused(t, 'backup')).toEqual({ paused: true, note: 'paused by the operator for testing' });
    expect(fs.existsSync(paths.maintenanceFlag)).toBe(false);
    expect(counts(paths.atlasDb).errors).toBe(before.errors! + 1);

    // The snapshot restores byte for byte to the database as it was before the edit.
    const copy = path.join(t.home, 'restored-copy.db');
    fs.copyFileSync(snap.path, copy);
    expect(sha256(copy)).toBe(snap.manifest!.sha256);
    expect(counts(copy)).toEqual(before);
    expect(sha256(paths.atlasDb)).not.toBe(beforeHash);

    // Who did what is in ops.db.
    const ops = openDatabase(paths.opsDb, { readonly: true });
    const log = ops.prepare('SELECT actor, message FROM procedure_log WHERE workflow_id = ? ORDER BY id').all(id) as { actor: string; message: string }[];
    ops.close();
    expect(log.find((r) => r.message.includes('edits done'))?.actor).toBe('dana');
  });

  it('refuses resume when not editing, for unknown ids and for other workflow types', async () => {
    const unknown = await runCli(t, ['maintenance', 'resume', 'maintenance-does-not-exist']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/workflow maintenance-does-not-exist does not exist/);

    // Another workflow type (one no worker polls for: describe is all the CLI may do with it).
    const other = `other-type-${t.id}`;
    await t.client.workflow.start('incidentResponse', { taskQueue: `nobody-${t.id}`, workflowId: other, args: [{}] });
    try {
      const wrong = await runCli(t, ['maintenance', 'resume', other]);
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toContain(`workflow ${other} is a incidentResponse, not a maintenance`);
      const wrongAbort = await runCli(t, ['maintenance', 'abort', other]);
      expect(wrongAbort.code).toBe(2);
      expect(wrongAbort.stderr).toContain(`workflow ${other} is a incidentResponse, not a maintenance`);
      // Nothing was sent to it: its history holds no signal or update.
      const history = await t.client.workflow.getHandle(other).fetchHistory();
      expect(history.events?.filter((e) => e.workflowExecutionSignaledEventAttributes || e.workflowExecutionUpdateAcceptedEventAttributes)).toEqual([]);
    } finally {
      await t.client.workflow.getHandle(other).terminate('test over');
    }

    // Past its edit phase: the resume is refused by the workflow's own validator, naming the phase.
    const id = await startCli(t);
    await waitForPhase(t, id, 'edit', 'waiting');
    expect((await runCli(t, ['maintenance', 'resume', id, '--by', 'a'])).code).toBe(0);
    await t.client.workflow.getHandle(id).result();
    const again = await runCli(t, ['--json', 'maintenance', 'resume', id]);
    expect(again.code).toBe(2);
    expect(JSON.parse(again.stdout)).toMatchObject({ workflowId: id, accepted: false, error: expect.stringMatching(/workflow execution already completed/i) });
  });

  it('a second maintenance is refused at once, naming the running one', async () => {
    const first = await startCli(t);
    await waitForPhase(t, first, 'edit', 'waiting');
    const second = await runCli(t, ['--json', 'maintenance', 'start', '--reason', 'second']);
    expect(second.code).toBe(1);
    const out = JSON.parse(second.stdout);
    expect(out.started).toBe(false);
    expect(out.error).toContain(first);
    await expect(t.client.workflow.getHandle(out.workflowId).result()).rejects.toSatisfy((err: unknown) => {
      const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
      return cause instanceof ApplicationFailure && cause.type === 'ProcedureConflict';
    });
    // The first is untouched and still editing.
    expect((await status(t, first)).phase).toBe('edit');
    await runCli(t, ['maintenance', 'abort', first]);
    const result = (await t.client.workflow.getHandle(first).result()) as MaintenanceResult;
    expect(result.outcome).toBe('aborted');
  });

  it('a singleton refused during a maintenance (recover corruption) exits 1 naming the maintenance, not "started"', async () => {
    const first = await startCli(t);
    await waitForPhase(t, first, 'edit', 'waiting');
    const recover = await runCli(t, ['--json', 'recover', 'corruption', '--no-oci']);
    expect(recover.code, recover.stdout + recover.stderr).toBe(1);
    const out = JSON.parse(recover.stdout);
    expect(out.started).toBe(false);
    expect(out.error).toContain(`maintenance ${first}`);
    const plain = await runCli(t, ['recover', 'corruption', '--no-oci']);
    expect(plain.code).toBe(1);
    expect(plain.stdout).toMatch(new RegExp(`corruptionRecovery \\S+ did not start: maintenance ${first} is changing atlas.db`));
    expect((await status(t, first)).phase).toBe('edit');
    await runCli(t, ['maintenance', 'abort', first]);
    expect(((await t.client.workflow.getHandle(first).result()) as MaintenanceResult).outcome).toBe('aborted');
  });

  it('abort during the edit removes the flag, unpauses, keeps the snapshot; --rollback restores it', async () => {
    const paths = atlasPaths(t.home);
    await createSchedules(t, ['export', 'import', 'backup']);
    const id = await startCli(t);
    await waitForPhase(t, id, 'edit', 'waiting');
    const before = counts(paths.atlasDb);
    const db = openDatabase(paths.atlasDb, { wal: true });
    db.prepare('DELETE FROM errors').run();
    db.close();

    const aborted = await runCli(t, ['maintenance', 'abort', id, '--rollback', '--by', 'lee', '--note', 'wrong table']);
    expect(aborted.code, aborted.stderr).toBe(0);
    const result = (await t.client.workflow.getHandle(id).result()) as MaintenanceResult;
    expect(result.outcome).toBe('aborted');
    expect(result.abortedBy).toBe('lee');
    expect(result.unpausedSchedules).toEqual(['export', 'import', 'backup']);
    for (const name of ['export', 'import', 'backup']) expect((await schedulePaused(t, name)).paused).toBe(false);
    expect(fs.existsSync(paths.maintenanceFlag)).toBe(false);
    expect(counts(paths.atlasDb)).toEqual(before);
    expect(result.editedFileKeptAs?.[0]).toMatch(/atlas\.db\.failed-edit-\d{8}-\d{6}$/);
    expect(counts(result.editedFileKeptAs![0]!).errors).toBe(0);
    expect(listBackups(paths.backupsDir).some((b) => b.name === result.snapshot?.file)).toBe(true);
  });

  it('abort before anything happened changes nothing (abort in the lock phase)', async () => {
    await createSchedules(t, ['export', 'import', 'backup']);
    const id = `maintenance-abort-early-${t.id}`;
    const handle = await t.client.workflow.signalWithStart('maintenance', {
      taskQueue: t.config.taskQueue,
      workflowId: id,
      args: [{}],
      signal: abortSignal,
      signalArgs: [{ by: 'ops' }],
    });
    const backupsBefore = listBackups(atlasPaths(t.home).backupsDir).length;
    const result = (await handle.result()) as MaintenanceResult;
    expect(result.outcome).toBe('aborted');
    expect(result.pausedSchedules).toEqual([]);
    expect(result.snapshot).toBeUndefined();
    expect(listBackups(atlasPaths(t.home).backupsDir)).toHaveLength(backupsBefore);
    for (const name of ['export', 'import', 'backup']) expect((await schedulePaused(t, name)).paused).toBe(false);
  });

  it('an edit that corrupts the database is not resumed; rollback restores the snapshot and keeps the edited file', async () => {
    const paths = atlasPaths(t.home);
    await createSchedules(t, ['export', 'import', 'backup']);
    const id = await startCli(t);
    await waitForPhase(t, id, 'edit', 'waiting');
    const before = counts(paths.atlasDb);
    corruptInteriorPages(paths.atlasDb);

    expect((await runCli(t, ['maintenance', 'resume', id, '--by', 'sam'])).code).toBe(0);
    const failed = await waitForPhase(t, id, 'verify', 'waiting');
    expect(failed.waitingFor).toMatch(/rollback/);
    // Schedules stay paused and the flag stays while the database is broken.
    expect((await schedulePaused(t, 'export')).paused).toBe(true);
    expect(fs.existsSync(paths.maintenanceFlag)).toBe(true);
    // A plain resume is refused now; it needs --force.
    const plain = await runCli(t, ['maintenance', 'resume', id]);
    expect(plain.code).toBe(2);
    expect(plain.stdout + plain.stderr).toMatch(/integrity_check failed/);

    await t.client.workflow.getHandle(id).signal(rollbackSignal, { by: 'sam', note: 'bad edit' });
    const result = (await t.client.workflow.getHandle(id).result()) as MaintenanceResult;
    expect(result.outcome).toBe('rolled-back');
    expect(result.integrity?.ok).toBe(false);
    const db = openDatabase(paths.atlasDb, { readonly: true });
    expect(integrityProblems(db)).toEqual([]);
    db.close();
    expect(counts(paths.atlasDb)).toEqual(before);
    const kept = result.editedFileKeptAs!.find((f) => /failed-edit-\d{8}-\d{6}$/.test(f))!;
    expect(fs.existsSync(kept)).toBe(true);
    expect((await schedulePaused(t, 'export')).paused).toBe(false);
    expect(fs.existsSync(paths.maintenanceFlag)).toBe(false);
  });

  it('a failed step waits for the operator: retry after the cause is fixed continues the procedure', async () => {
    const paths = atlasPaths(t.home);
    const real = fs.readFileSync(paths.atlasDb);
    fs.renameSync(paths.atlasDb, `${paths.atlasDb}.aside`);
    fs.writeFileSync(paths.atlasDb, 'this is not a database');
    try {
      const id = await startCli(t);
      const failed = await eventually(async () => {
        const s = await status(t, id);
        return s.failedStep ? s : undefined;
      }, 60_000, 'the snapshot step to fail');
      expect(failed.failedStep).toMatchObject({ step: 'snapshot', errorType: 'DatabaseCorrupt', allowed: ['retry', 'abort'] });
      expect(failed.failedStep!.error).toMatch(/not a SQLite database/);
      // skip is not offered for the snapshot: refused at once.
      const skip = await runCli(t, ['decide', id, 'skip']);
      expect(skip.code).toBe(2);
      expect(skip.stdout).toMatch(/retry, abort/);
      const ops = openDatabase(paths.opsDb, { readonly: true });
      const alert = ops.prepare("SELECT level FROM alerts WHERE code = ? AND resolved_at IS NULL").get(`procedure-step-failed:${id}`) as { level: string };
      ops.close();
      expect(alert.level).toBe('critical');

      fs.rmSync(paths.atlasDb);
      fs.writeFileSync(paths.atlasDb, real);
      fs.rmSync(`${paths.atlasDb}.aside`);
      expect((await runCli(t, ['decide', id, 'retry', '--by', 'kim'])).code).toBe(0);
      await waitForPhase(t, id, 'edit', 'waiting');
      await runCli(t, ['maintenance', 'resume', id]);
      expect(((await t.client.workflow.getHandle(id).result()) as MaintenanceResult).outcome).toBe('completed');
    } finally {
      if (fs.existsSync(`${paths.atlasDb}.aside`)) fs.renameSync(`${paths.atlasDb}.aside`, paths.atlasDb);
    }
  });

  it('reminds while waiting and raises a critical alert at the edit timeout, but never resumes by itself', async () => {
    const paths = atlasPaths(t.home);
    const id = await startCli(t, ['--edit-timeout', '3s', '--reminder-interval', '1s']);
    await waitForPhase(t, id, 'edit', 'waiting');
    const ops = openDatabase(paths.opsDb, { readonly: true });
    const timeoutAlert = await eventually(
      () => ops.prepare('SELECT level FROM alerts WHERE code = ? AND resolved_at IS NULL').get(`maintenance-edit-timeout:${id}`) as { level: string } | undefined,
      60_000,
      'the edit-timeout alert',
    );
    expect(timeoutAlert.level).toBe('critical');
    // The wait's alert raised again by a reminder: waited for, as a loaded machine can reach the
    // timeout (3 s) before the first reminder's slot (the wait goes on reminding after it).
    const reminders = await eventually(() => ((n) => (n >= 2 ? n : undefined))(ops.prepare('SELECT occurrences FROM alerts WHERE code = ?').pluck().get(`maintenance-edit:${id}`) as number), 60_000, 'a reminder');
    ops.close();
    expect(reminders).toBeGreaterThanOrEqual(2);
    expect((await status(t, id)).phase).toBe('edit');
    await runCli(t, ['maintenance', 'resume', id]);
    expect(((await t.client.workflow.getHandle(id).result()) as MaintenanceResult).outcome).toBe('completed');
  });

  it('rejects bad input from the Web UI at once, naming the field', async () => {
    const handle = await t.client.workflow.start('maintenance', {
      taskQueue: t.config.taskQueue,
      workflowId: `maintenance-bad-input-${t.id}`,
      args: [{ editTimeout: 'soon', reason: 'x' }],
    });
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('InvalidInput');
    expect(cause.message).toMatch(/editTimeout: "soon" is not a duration/);
    const unknown = await t.client.workflow.start('maintenance', { taskQueue: t.config.taskQueue, workflowId: `maintenance-bad-field-${t.id}`, args: [{ reasn: 'typo' }] });
    const err2 = await unknown.result().catch((e: unknown) => e);
    expect(((err2 as WorkflowFailedError).cause as ApplicationFailure).message).toMatch(/reasn: unknown field/);
  });
});

describe('maintenance survives a killed worker', () => {
  it('SIGKILL during the edit wait, a new worker, and the cycle completes with one snapshot', async () => {
    const t = await startAtlas({ schedules: ['export', 'import', 'backup'] });
    let worker = spawnWorker(t);
    try {
      const id = await startCli(t);
      await waitForPhase(t, id, 'edit', 'waiting');
      worker.kill('SIGKILL');
      await new Promise((r) => worker.once('exit', r));
      worker = spawnWorker(t);
      await waitForPhase(t, id, 'edit', 'waiting');
      expect((await runCli(t, ['maintenance', 'resume', id, '--by', 'night-shift'])).code).toBe(0);
      const result = (await t.client.workflow.getHandle(id).result()) as MaintenanceResult;
      expect(result.outcome).toBe('completed');
      expect(result.resumedBy).toBe('night-shift');
      expect(listBackups(atlasPaths(t.home).backupsDir)).toHaveLength(1);
      expect(result.unpausedSchedules).toEqual(['export', 'import', 'backup']);
      for (const name of ['export', 'import', 'backup']) expect((await schedulePaused(t, name)).paused).toBe(false);
    } finally {
      worker.kill('SIGKILL');
      await t.cleanup();
    }
  });
});

describe('maintenance with sqlite-web', () => {
  it('starts sqlite-web on 127.0.0.1 only for the edit and stops it on resume', async () => {
    const { which } = await import('../src/command-runner');
    const { allocatePort } = await import('../src/ports');
    const os = await import('node:os');
    const net = await import('node:net');
    if (!which('sqlite_web')) throw new Error('sqlite_web is not installed: .ci/run installs it with `pip install sqlite-web`');
    const port = await allocatePort();
    const t = await startAtlas({ overrides: { 'sqliteWeb.port': port }, worker: true });
    try {
      const id = await startCli(t, ['--sqlite-web']);
      const editing = await waitForPhase(t, id, 'edit', 'waiting');
      expect((editing.facts as { sqliteWeb?: { started: boolean; url: string } }).sqliteWeb).toMatchObject({ started: true, url: `http://127.0.0.1:${port}` });
      const page = await fetch(`http://127.0.0.1:${port}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('atlas.db');
      // Bound to loopback only: another address of this host refuses the connection.
      // 127.0.0.2 always exists on Linux (all of 127/8 is loopback) and reaches a server bound to
      // 0.0.0.0, so this check runs on every host, with or without an external address.
      const external = Object.values(os.networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
      const reachable = (host: string) => new Promise<boolean>((resolve) => {
        const s = net.connect({ host, port });
        s.once('connect', () => (s.destroy(), resolve(true)));
        s.once('error', () => resolve(false));
      });
      expect(await reachable('127.0.0.1')).toBe(true);
      for (const host of ['127.0.0.2', ...(external ? [external] : [])]) expect(await reachable(host), host).toBe(false);
      expect((await runCli(t, ['maintenance', 'resume', id])).code).toBe(0);
      await t.client.workflow.getHandle(id).result();
      await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
      expect(fs.existsSync(path.join(t.home, 'run', 'sqlite-web.pid'))).toBe(false);
    } finally {
      await t.cleanup();
    }
  });

  it('resume with run/sqlite-web.pid naming another process: that process lives, and the step fails naming the real listener', async () => {
    const { allocatePort } = await import('../src/ports');
    const { spawn } = await import('node:child_process');
    const port = await allocatePort();
    const t = await startAtlas({ overrides: { 'sqliteWeb.port': port }, worker: true });
    const foreign = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
    const pidFile = path.join(t.home, 'run', 'sqlite-web.pid');
    try {
      const id = await startCli(t, ['--sqlite-web']);
      await waitForPhase(t, id, 'edit', 'waiting');
      const real = (JSON.parse(fs.readFileSync(pidFile, 'utf8')) as { pid: number }).pid;
      fs.writeFileSync(pidFile, `${foreign.pid}\n`);
      expect((await runCli(t, ['maintenance', 'resume', id])).code).toBe(0);
      const failed = await eventually(async () => ((s) => (s.failedStep?.step === 'stop sqlite-web' ? s : undefined))(await status(t, id)), 60_000, 'the failed stop step');
      expect(failed.failedStep).toMatchObject({ errorType: 'UnprovenProcess', allowed: ['retry', 'skip', 'abort'] });
      expect(failed.failedStep!.error).toContain(`127.0.0.1:${port} (sqlite-web's port) is still served by pid ${real} (`);
      expect(failed.failedStep!.error).toContain(`kill ${real}`);
      expect(foreign.exitCode === null && foreign.signalCode === null).toBe(true);
      // Done as the message says: the retried step passes and the procedure completes.
      process.kill(real, 'SIGTERM');
      await eventually(async () => fetch(`http://127.0.0.1:${port}/`).then(() => false, () => true), 30_000, 'sqlite_web to stop');
      expect((await runCli(t, ['decide', id, 'retry'])).code).toBe(0);
      expect(((await t.client.workflow.getHandle(id).result()) as MaintenanceResult).outcome).toBe('completed');
      expect(foreign.exitCode === null && foreign.signalCode === null).toBe(true);
    } finally {
      foreign.kill('SIGKILL');
      await t.cleanup();
    }
  });
});

describe('maintenance and the approvals sheet', () => {
  it('puts a banner on the Status tab while the sync is paused, and clears it on resume', async () => {
    const t = await startAtlas({ sheets: true, worker: true });
    try {
      const banner = () => t.sheets.rows('Status').map((r) => r.join(' ')).find((r) => /banner/i.test(r)) ?? '';
      const id = `maintenance-banner-${t.id}`;
      await t.client.workflow.start('maintenance', { taskQueue: t.config.taskQueue, workflowId: id, args: [{ reason: 'schema change' }] });
      await waitForPhase(t, id, 'edit', 'waiting');
      expect(banner()).toMatch(/paused for maintenance \(schema change\)/);
      await t.client.workflow.getHandle(id).signal('resume', { by: 'ops' });
      expect(((await t.client.workflow.getHandle(id).result()) as MaintenanceResult).outcome).toBe('completed');
      expect(banner()).not.toMatch(/paused/);
    } finally {
      await t.cleanup();
    }
  });
});
