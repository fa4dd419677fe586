// No swap under a live writer (docs/safety.md#no-swap-under-a-live-writer), against real processes:
// a node process holding atlas.db open through better-sqlite3, the workflows on the dev server, the
// app's units stopped and started through a recording `systemctl` stand-in first on PATH. And
// monitoring never pauses for a recovery: health and the digest run while corruption recovery waits.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { databaseHolders } from '../src/db/holders';
import { openOpsDb } from '../src/db/ops-db';
import { takeSnapshot, type BackupManifest } from '../src/db/snapshot';
import { integrityProblems, openDatabase, rowCounts } from '../src/db/sqlite';
import { atlasPaths } from '../src/paths';
import { ALL_SCHEDULES, MONITORING, TOUCHING_ATLAS_DB } from '../src/workflow-safe/schedule-names';
import type { CorruptionRecoveryResult } from '../workflows/corruption-recovery';
import { abortSignal, statusQuery, type ProcedureStatus } from '../workflows/lib/procedure';
import type { MaintenanceResult } from '../workflows/maintenance';
import type { RestoreWorkflowResult } from '../workflows/restore';
import { useAtlas, type Atlas } from './helpers/atlas';
import { eventually, runCli, schedulePaused, uid } from './helpers/env';
import { holdOpen, recordingSystemctl, stopHolder } from './helpers/holders';
import { garbageOverPages } from './helpers/corrupt';

const UNIT = 'atlas-agent.service';
const savedPath = process.env.PATH;
let systemctl: ReturnType<typeof recordingSystemctl>;

beforeAll(() => {
  systemctl = recordingSystemctl();
  // The in-process worker's command runner reads PATH at call time.
  process.env.PATH = `${systemctl.bin}${path.delimiter}${savedPath}`;
});
afterAll(() => {
  process.env.PATH = savedPath;
  systemctl.remove();
});

const systemctlCalls = () => systemctl.calls();

const waitingOn = (handle: WorkflowHandle, pid: number) =>
  eventually(async () => {
    const s: ProcedureStatus = await handle.query(statusQuery);
    return s.waitingFor?.includes(`pid ${pid}`) ? s : undefined;
  }, 60_000, `the procedure names pid ${pid}`);

function openAlert(t: Atlas, code: string): { level: string; message: string } | undefined {
  const ops = openOpsDb(atlasPaths(t.home).opsDb);
  try {
    return ops.prepare('SELECT level, message FROM alerts WHERE code = ? AND resolved_at IS NULL').get(code) as { level: string; message: string } | undefined;
  } finally {
    ops.close();
  }
}

describe('a restore while another process holds atlas.db open', () => {
  let db: string;
  let backup: BackupManifest;
  const t = useAtlas({
    worker: true,
    schedules: [...ALL_SCHEDULES],
    overrides: { 'app.units': UNIT, 'swap.pollInterval': '500ms', 'swap.pageAfter': '3s', 'swap.timeout': '10m' },
    async prepare(a) {
      db = path.join(a.home, 'data', 'atlas.db');
      backup = await takeSnapshot({ source: db, backupsDir: path.join(a.home, 'backups'), reason: 'holder test' });
    },
  });

  it('waits, names the holder (status, details, list), pages after swap.pageAfter, and completes by itself once it exits', async () => {
    const holder = await holdOpen(db);
    try {
      const handle = await t.client.workflow.start('restore', { taskQueue: t.config.taskQueue, workflowId: `restore-held-${uid()}`, args: [{ backup: backup.file }] });
      const status = await waitingOn(handle, holder.pid!);
      expect(status.waitingFor).toMatch(/node -e/);
      expect(status.waitingFor).toContain(`user ${os.userInfo().username}`);
      const meta = (await handle.query('__temporal_workflow_metadata')) as { currentDetails?: string };
      expect(meta.currentDetails).toContain(`pid ${holder.pid}`);
      const list = await runCli(t, ['--json', 'list']);
      const row = (JSON.parse(list.stdout) as { workflowId: string; waitingFor?: string; waitingForText?: string }[]).find((r) => r.workflowId === handle.workflowId);
      expect(row?.waitingFor).toBe('db-holders');
      expect(row?.waitingForText).toContain(`pid ${holder.pid}`);
      // The backup is staged and checked meanwhile; atlas.db is not replaced.
      expect(fs.existsSync(`${db}.restored`)).toBe(true);
      expect(fs.readdirSync(path.dirname(db)).filter((f) => f.includes('.replaced-'))).toEqual([]);
      expect(systemctlCalls()).toEqual(expect.arrayContaining([`is-active ${UNIT}`, `stop ${UNIT}`]));
      expect(systemctlCalls()).not.toContain(`start ${UNIT}`);
      const page = await eventually(() => (openAlert(t, `db-held:${handle.workflowId}`)?.level === 'critical' ? openAlert(t, `db-held:${handle.workflowId}`) : undefined), 60_000, 'the page');
      expect(page.message).toContain(`pid ${holder.pid}`);

      await stopHolder(holder);
      const r = (await handle.result()) as RestoreWorkflowResult;
      expect(r.outcome).toBe('completed');
      expect(r.keptAs.length).toBeGreaterThan(0);
      const conn = openDatabase(db, { readonly: true });
      expect(rowCounts(conn)).toEqual(backup.rowCounts);
      conn.close();
      expect(fs.existsSync(`${db}.restored`)).toBe(false);
      const calls = systemctlCalls();
      expect(calls.lastIndexOf(`start ${UNIT}`)).toBeGreaterThan(calls.indexOf(`stop ${UNIT}`));
      expect(openAlert(t, `db-held:${handle.workflowId}`)).toBeUndefined();
      for (const name of ['export', 'import', 'backup']) expect((await schedulePaused(t, name)).paused).toBe(false);
    } finally {
      await stopHolder(holder);
    }
  });
});

describe('a maintenance rollback while another process holds atlas.db open', () => {
  const t = useAtlas({ worker: true, overrides: { 'app.units': UNIT, 'swap.pollInterval': '500ms', 'swap.timeout': '10m' } });

  it('waits for the holder on the abort path, then restores the snapshot and keeps the edited file', async () => {
    const db = path.join(t.home, 'data', 'atlas.db');
    const handle = await t.client.workflow.start('maintenance', { taskQueue: t.config.taskQueue, workflowId: `maintenance-held-${uid()}`, args: [{ reason: 'holder test' }] });
    await eventually(async () => (await handle.query(statusQuery)).waitingFor?.includes('edits'), 60_000, 'the edit wait');
    const holder = await holdOpen(db);
    try {
      await handle.signal(abortSignal, { by: 'test', rollback: true });
      await waitingOn(handle, holder.pid!);
      expect(fs.readdirSync(path.dirname(db)).filter((f) => f.includes('.failed-edit-') && !f.endsWith('.verified'))).toEqual([]);
      await stopHolder(holder);
      const r = (await handle.result()) as MaintenanceResult;
      expect(r.outcome).toBe('aborted');
      expect(r.editedFileKeptAs?.length).toBeGreaterThan(0);
      const conn = openDatabase(db, { readonly: true });
      expect(rowCounts(conn)).toEqual(r.snapshot!.rowCounts);
      conn.close();
    } finally {
      await stopHolder(holder);
    }
  });
});

describe('a holder that never exits', () => {
  let db: string;
  let backup: BackupManifest;
  const t = useAtlas({
    worker: true,
    schedules: ['export', 'import', 'backup'],
    overrides: { 'app.units': UNIT, 'swap.pollInterval': '500ms', 'swap.pageAfter': '2s', 'swap.timeout': '6s' },
    async prepare(a) {
      db = path.join(a.home, 'data', 'atlas.db');
      backup = await takeSnapshot({ source: db, backupsDir: path.join(a.home, 'backups'), reason: 'holder timeout test' });
    },
  });

  it('ends at swap.timeout in the safe state: atlas.db byte-identical, staging kept, schedules unpaused, units started', async () => {
    const holder = await holdOpen(db, { writes: false });
    try {
      const before = fs.readFileSync(db);
      const inode = fs.statSync(db).ino;
      const calls = systemctlCalls().length;
      const handle = await t.client.workflow.start('restore', { taskQueue: t.config.taskQueue, workflowId: `restore-timeout-${uid()}`, args: [{ backup: backup.file }] });
      const err = await handle.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause as { type?: string; message: string };
      expect(cause.type).toBe('DbHeld');
      expect(cause.message).toContain(`still held open by pid ${holder.pid}`);
      expect(cause.message).toMatch(/Nothing was replaced/);
      expect(fs.readFileSync(db).equals(before)).toBe(true);
      expect(fs.statSync(db).ino).toBe(inode);
      const staging = openDatabase(`${db}.restored`, { readonly: true });
      expect(integrityProblems(staging)).toEqual([]);
      staging.close();
      for (const name of ['export', 'import', 'backup']) expect((await schedulePaused(t, name)).paused).toBe(false);
      expect(fs.existsSync(atlasPaths(t.home).maintenanceFlag)).toBe(false);
      expect(systemctlCalls().slice(calls)).toEqual([`is-active ${UNIT}`, `stop ${UNIT}`, `start ${UNIT}`]);
      expect(holder.exitCode).toBeNull();
    } finally {
      await stopHolder(holder);
    }
  });
});

describe('corruption recovery while another process holds atlas.db open', () => {
  let db: string;
  let backup: BackupManifest;
  const t = useAtlas({
    worker: true,
    schedules: [...ALL_SCHEDULES],
    overrides: { 'app.units': '', 'swap.pollInterval': '500ms', 'swap.timeout': '10m' },
    async prepare(a) {
      db = path.join(a.home, 'data', 'atlas.db');
      backup = await takeSnapshot({ source: db, backupsDir: path.join(a.home, 'backups'), reason: 'recovery holder test' });
    },
  });

  it('pauses only the schedules that touch atlas.db, keeps health and the digest running, waits for the holder, then restores', async () => {
    garbageOverPages(db);
    const holder = spawn(process.execPath, ['-e', `require('fs').openSync(${JSON.stringify(db)}, 'r');setInterval(()=>{},1000)`], { stdio: 'ignore' });
    try {
      await eventually(() => databaseHolders(db).some((h) => h.pid === holder.pid), 60_000, 'the holder has atlas.db open');
      const handle = await t.client.workflow.start('corruptionRecovery', { taskQueue: t.config.taskQueue, workflowId: `recovery-held-${uid()}`, args: [{ allowOci: false }] });
      await waitingOn(handle, holder.pid!);
      for (const name of TOUCHING_ATLAS_DB) expect((await schedulePaused(t, name)).paused, name).toBe(true);
      for (const name of MONITORING) expect((await schedulePaused(t, name)).paused, name).toBe(false);
      await stopHolder(holder);
      const r = (await handle.result()) as CorruptionRecoveryResult;
      expect(r.method).toBe('B');
      expect(r.pausedSchedules.sort()).toEqual([...TOUCHING_ATLAS_DB].sort());
      const conn = openDatabase(db, { readonly: true });
      expect(rowCounts(conn)).toEqual(backup.rowCounts);
      conn.close();
      for (const name of ALL_SCHEDULES) expect((await schedulePaused(t, name)).paused, name).toBe(false);
    } finally {
      await stopHolder(holder);
    }
  });
});
