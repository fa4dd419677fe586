// `diagnose` from the Web UI: the Sheets checks against the emulator and the database doctor on a
// real atlas.db held open by another process.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { atlasPaths } from '../src/paths';
import type { DiagnoseResult } from '../workflows/diagnose';
import { useAtlas } from './helpers/atlas';
import { eventually } from './helpers/env';

describe('diagnose', () => {
  const t = useAtlas({ sheets: true, worker: true });

  it('passes with a reachable sheet and a free database, started with {} as from the Web UI', async () => {
    const result = (await t.client.workflow.execute('diagnose', { taskQueue: t.config.taskQueue, workflowId: `diagnose-ok-${t.id}`, args: [{}] })) as DiagnoseResult;
    expect(result.ok).toBe(true);
    expect(result.sheets?.ok).toBe(true);
    expect(result.sheets?.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['tcp', 'auth']));
    expect(result.db).toMatchObject({ ok: true, journalMode: 'wal', writeLock: 'free', holders: [] });
  });

  it('names a refused key and a process holding the write lock, and kills nothing', async () => {
    t.sheets.emu.fault({ kind: 401, count: Infinity });
    const file = atlasPaths(t.home).atlasDb;
    // Another process holds atlas.db open with a write transaction, as a hung Atlas app would.
    const holder = spawn(process.execPath, ['-e', `
      const D = require(${JSON.stringify(require.resolve('better-sqlite3'))});
      const db = new D(${JSON.stringify(file)}); db.exec('BEGIN IMMEDIATE'); console.log('locked');
      setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await eventually(() => new Promise<boolean>((r) => holder.stdout!.once('data', () => r(true))), 10_000, 'the holder to lock');
      const result = (await t.client.workflow.execute('diagnose', { taskQueue: t.config.taskQueue, workflowId: `diagnose-bad-${t.id}`, args: [{}] })) as DiagnoseResult;
      expect(result.ok).toBe(false);
      expect(result.sheets?.failed).toBeDefined();
      expect(result.db?.writeLock).toBe('held');
      expect(result.db?.holders.map((h) => h.pid)).toContain(holder.pid);
      expect(result.findings.join('\n')).toMatch(/never kills/);
      expect(holder.exitCode).toBeNull();
    } finally {
      t.sheets.emu.clearFaults();
      holder.kill();
    }
  });

  it('refuses unknown input fields', async () => {
    const err = await t.client.workflow.execute('diagnose', { taskQueue: t.config.taskQueue, workflowId: `diagnose-input-${t.id}`, args: [{ sheet: true }] }).catch((e: unknown) => e);
    expect(String((err as { cause?: Error }).cause?.message)).toMatch(/sheet: unknown field/);
  });
});
