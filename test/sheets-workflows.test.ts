// sheetsExport / sheetsImport on the real dev server: what the schedules run, the record they
// leave, retries that honour Retry-After, typed failures, the CLI, and a worker killed mid-import.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { SyncRunResult } from '../activities/sheets';
import { openDatabase } from '../src/db/sqlite';
import { openOpsDb } from '../src/db/ops-db';
import { atlasPaths } from '../src/paths';
import { exportApprovals } from '../src/sheets/sync';
import { useAtlas } from './helpers/atlas';
import { eventually, runCli, spawnWorker, uid } from './helpers/env';
import { pendingApprovals } from './helpers/sheets';

// Each test starts the worker itself, once the home holds what the test needs.
const t = useAtlas({ sheets: true }, { each: true });

const run = (type: 'sheetsExport' | 'sheetsImport', input: unknown = {}) =>
  t.client.workflow.execute(type, { taskQueue: t.config.taskQueue, workflowId: `${type}-${uid()}`, args: [input] }) as Promise<SyncRunResult>;

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}

const syncRuns = () => {
  const db = openOpsDb(atlasPaths(t.home).opsDb);
  try {
    return db.prepare('SELECT direction, outcome, error, api_requests, rows_written, workflow_id FROM sync_runs ORDER BY id').all() as {
      direction: string; outcome: string; error: string | null; api_requests: number; rows_written: number; workflow_id: string;
    }[];
  } finally {
    db.close();
  }
};

const approvals = (ids: string[]) => {
  const db = openDatabase(atlasPaths(t.home).atlasDb, { readonly: true });
  try {
    return ids.map((id) => db.prepare('SELECT id, status, decided_at, decided_by FROM approvals WHERE id = ?').get(id) as { id: string; status: string; decided_at: string | null; decided_by: string | null });
  } finally {
    db.close();
  }
};

const pending = () => pendingApprovals(t);

describe('sheets sync workflows', () => {

  it('runs from {} as the schedules start them, and records each run in ops.db and the logs', async () => {
    await t.startWorker();
    const e = await run('sheetsExport');
    expect(e.added).toBe(pending().length);
    const [a, b] = pending();
    t.sheets.type(a!, 'G', 'approve');
    t.sheets.type(b!, 'G', 'perhaps');
    const i = await run('sheetsImport');
    expect(i).toMatchObject({ applied: 1, notApplied: 1 });
    expect(approvals([a!, b!]).map((x) => x.status)).toEqual(['approved', 'pending']);
    expect(syncRuns().map((r) => [r.direction, r.outcome])).toEqual([['export', 'ok'], ['import', 'ok']]);
    expect(syncRuns()[0]!.api_requests).toBe(e.requests);
    const exportLog = fs.readFileSync(atlasPaths(t.home).log('export'), 'utf8');
    expect(exportLog).toMatch(/"event":"export-ok"/);
    expect(fs.readFileSync(atlasPaths(t.home).log('import'), 'utf8')).toMatch(/"event":"import-ok".*"applied":1/);
    const alerts = openOpsDb(atlasPaths(t.home).opsDb);
    const alert = alerts.prepare("SELECT level, message FROM alerts WHERE code = 'sheets-decisions-not-applied' AND resolved_at IS NULL").get() as { level: string; message: string };
    alerts.close();
    expect(alert.level).toBe('warning');
    expect(alert.message).toMatch(/"perhaps" is not a decision/);
    // No secret and no sheet content in the history: counts and short samples only.
    const history = JSON.stringify(await t.client.workflow.getHandle(syncRuns()[1]!.workflow_id).fetchHistory());
    expect(history).not.toMatch(/private_key/);
  });

  it('does nothing while the maintenance flag exists and records "skipped: maintenance"', async () => {
    await t.startWorker();
    fs.writeFileSync(atlasPaths(t.home).maintenanceFlag, '{}');
    const e = await run('sheetsExport');
    const i = await run('sheetsImport', { forceCheck: true });
    expect(e.skipped).toBe('maintenance');
    expect(i.skipped).toBe('maintenance');
    expect(t.sheets.emu.stats().requests).toBe(0);
    expect(syncRuns().map((r) => [r.outcome, r.error])).toEqual([['skipped', 'skipped: maintenance'], ['skipped', 'skipped: maintenance']]);
  });

  it('retries a 429 after its Retry-After, and fails a 401 at once with a typed, non-retryable failure', async () => {
    await t.startWorker();
    t.sheets.emu.fault({ kind: 429, retryAfterSeconds: 3 });
    // A monotonic clock: the wall clock of a CI machine may be stepped while the test runs.
    const started = performance.now();
    const e = await run('sheetsExport');
    const elapsed = performance.now() - started;
    // The export met the 429 (its first attempt failed on it, in the run's own log), then waited.
    const failedAttempts = fs.readFileSync(atlasPaths(t.home).log('export'), 'utf8').split('\n').filter((l) => l.includes('export-attempt-failed'));
    expect(t.sheets.emu.stats().faulted, `the 429 was not met by the export; its log:\n${failedAttempts.join('\n')}`).toBe(1);
    expect(failedAttempts.map((l) => (JSON.parse(l) as { type: string }).type)).toEqual(['SheetsRateLimited']);
    expect(elapsed).toBeGreaterThanOrEqual(3000);
    expect(e.added).toBeGreaterThan(0);

    t.sheets.emu.resetStats();
    t.sheets.emu.fault({ kind: 401, count: Infinity });
    const failure = await failureOf(run('sheetsImport'));
    expect(failure.type).toBe('SheetsAuthError');
    expect(failure.message).toMatch(/service account was refused/);
    expect(t.sheets.emu.stats().requests).toBe(1);
    expect(syncRuns().at(-1)).toMatchObject({ direction: 'import', outcome: 'failed', error: expect.stringMatching(/^SheetsAuthError: /) });
    t.sheets.emu.clearFaults();
    t.sheets.emu.fault({ kind: 403 });
    expect((await failureOf(run('sheetsExport'))).type).toBe('SheetsPermissionError');
  });

  it('refuses input it does not know, naming the field', async () => {
    await t.startWorker();
    const failure = await failureOf(run('sheetsExport', { fulll: true }));
    expect(failure.type).toBe('InvalidInput');
    expect(failure.message).toMatch(/^fulll: unknown field/);
    expect((await failureOf(run('sheetsImport', { dryRun: 'yes' }))).message).toMatch(/^dryRun: expected true or false/);
  });

  it('the CLI: sync export --dry-run, sync import, sync health, doctor sheets', async () => {
    await t.startWorker();
    const dry = await runCli(t, ['--json', 'sync', 'export', '--dry-run'], t.sheets.env);
    expect(dry.code).toBe(0);
    const dryOut = JSON.parse(dry.stdout) as { ok: boolean; result: SyncRunResult };
    expect(dryOut.result.dryRun).toBe(true);
    expect(dryOut.result.changes[0]).toMatch(/header|add/);
    expect(t.sheets.emu.stats().writes).toBe(0);
    const real = await runCli(t, ['sync', 'export', '--full'], t.sheets.env);
    expect(real.code).toBe(0);
    expect(real.stdout).toMatch(/added \d+, updated 0/);
    const [a] = pending();
    t.sheets.type(a!, 'G', 'reject');
    const imp = await runCli(t, ['sync', 'import', '--force-check'], t.sheets.env);
    expect(imp.stdout).toMatch(/applied 1, already applied 0, not applied 0/);
    const health = await runCli(t, ['--json', 'sync', 'health'], t.sheets.env);
    const h = JSON.parse(health.stdout) as { successPercent: number; directions: { direction: string; ok: number; lastSuccess?: string }[] };
    expect(health.code).toBe(0);
    expect(h.successPercent).toBe(100);
    expect(h.directions.map((d) => [d.direction, d.ok])).toEqual([['export', 1], ['import', 1]]);
    const doctor = await runCli(t, ['doctor', 'sheets', '--permissions'], t.sheets.env);
    expect(doctor.code).toBe(0);
    expect(doctor.stdout).toMatch(/ok\s+write/);
    t.sheets.emu.fault({ kind: 401, count: Infinity });
    const bad = await runCli(t, ['--json', 'doctor', 'sheets'], t.sheets.env);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, failed: 'spreadsheet', errorType: 'SheetsAuthError' });
    const failed = await runCli(t, ['sync', 'export'], t.sheets.env);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/failed: .*service account was refused/);
  });

  it('a worker killed between reading the sheet and writing atlas.db loses nothing and applies nothing twice', async () => {
    await exportApprovals(t.sheets.api(), atlasPaths(t.home).atlasDb, { now: new Date() });
    const ids = pending().slice(0, 3);
    ids.forEach((id, k) => t.sheets.type(id, 'G', k === 1 ? 'no' : 'yes'));
    t.sheets.emu.resetStats();
    // Hold atlas.db's write lock: the import can read the sheet but cannot write the database.
    const holder = openDatabase(atlasPaths(t.home).atlasDb);
    holder.exec('BEGIN IMMEDIATE');
    const child = spawnWorker(t, t.sheets.env);
    const exited = new Promise((r) => child.once('exit', r));
    const handle = await t.client.workflow.start('sheetsImport', { taskQueue: t.config.taskQueue, workflowId: `kill-${uid()}`, args: [{}] });
    try {
      await eventually(() => (t.sheets.emu.stats().byMethod['values.batchGet'] ?? 0) >= 1, 60_000, 'the import to read the sheet');
      child.kill('SIGKILL');
      await exited;
    } finally {
      holder.exec('COMMIT');
      holder.close();
    }
    expect(approvals(ids).map((a) => a.status)).toEqual(['pending', 'pending', 'pending']);
    expect(t.sheets.emu.stats().writes).toBe(0);
    await t.startWorker();
    const result = (await handle.result()) as SyncRunResult;
    expect(result.applied).toBe(3);
    // The retry read the sheet again: the killed attempt's read was not trusted.
    expect(t.sheets.emu.stats().byMethod['values.batchGet']).toBeGreaterThanOrEqual(2);
    const after = approvals(ids);
    expect(after.map((a) => a.status)).toEqual(['approved', 'rejected', 'approved']);
    const again = await run('sheetsImport', { forceCheck: true });
    expect(again).toMatchObject({ applied: 0, alreadyApplied: 3, notApplied: 0 });
    expect(approvals(ids).map((a) => a.decided_at)).toEqual(after.map((a) => a.decided_at));
    for (const id of ids) expect(t.sheets.rows()[t.sheets.rowOf(id) - 1]![9]).toMatch(/^applied: /);
  });
});
