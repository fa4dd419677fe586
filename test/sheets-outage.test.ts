// The Sheets outage: detection from failing sync runs, read-only mode (only export/import paused),
// durable polling, the operator's restored/abort, and a catch-up that loses and repeats no decision.
import { describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import type { SheetsOutageResult } from '../workflows/sheets-outage';
import { restoredSignal } from '../workflows/sheets-outage';
import { statusQuery } from '../workflows/lib/procedure';
import { openDatabase } from '../src/db/sqlite';
import { openOpsDb } from '../src/db/ops-db';
import { atlasPaths } from '../src/paths';
import { singletonId } from '../src/temporal/start';
import { useAtlas } from './helpers/atlas';
import { eventually, runCli, schedulePaused, uid } from './helpers/env';
import { pendingApprovals } from './helpers/sheets';

const t = useAtlas({
  sheets: true,
  schedules: ['export', 'import', 'backup'],
  worker: true,
  async beforeTeardown(a) {
    await a.client.workflow.getHandle(singletonId(a.config, 'sheets-outage')).terminate('test cleanup').catch(() => undefined);
  },
}, { each: true });

const outageId = () => singletonId(t.config, 'sheets-outage');
const exportRun = () => t.client.workflow.execute('sheetsExport', { taskQueue: t.config.taskQueue, workflowId: `export-${uid()}`, args: [{}] });
const importRun = () => t.client.workflow.execute('sheetsImport', { taskQueue: t.config.taskQueue, workflowId: `import-${uid()}`, args: [{ forceCheck: true }] }) as Promise<{ applied: number; alreadyApplied: number }>;

const statuses = (ids: string[]) => {
  const db = openDatabase(atlasPaths(t.home).atlasDb, { readonly: true });
  try {
    return ids.map((id) => db.prepare('SELECT status FROM approvals WHERE id = ?').pluck().get(id));
  } finally {
    db.close();
  }
};
const pending = () => pendingApprovals(t);
const alert = (code: string) => {
  const db = openOpsDb(atlasPaths(t.home).opsDb);
  try {
    return db.prepare('SELECT level, message, resolved_at, resolution FROM alerts WHERE code = ? ORDER BY id DESC LIMIT 1').get(code) as
      | { level: string; message: string; resolved_at: string | null; resolution: string | null }
      | undefined;
  } finally {
    db.close();
  }
};
const phase = async () => (await t.client.workflow.getHandle(outageId()).query(statusQuery)).phase;

describe('sheets outage', () => {

  it('three 401s start the procedure; it pauses only export/import, then catches up with no decision lost or applied twice', async () => {
    await exportRun();
    const ids = pending().slice(0, 3);
    t.sheets.type(ids[0]!, 'G', 'approve');
    t.sheets.type(ids[1]!, 'G', 'reject');
    t.sheets.emu.fault({ kind: 401, count: Infinity });
    const messages: string[] = [];
    for (let i = 0; i < 3; i++) {
      const err = await exportRun().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      messages.push(((err as WorkflowFailedError).cause as Error).message);
    }
    expect(messages[1]).not.toMatch(/Outage procedure/);
    expect(messages[2]).toMatch(/Outage procedure .*sheets-outage started: 3 consecutive sync failures/);

    await eventually(async () => (await phase()) === 'wait', 60_000, 'the outage procedure to wait');
    expect(await schedulePaused(t, 'export')).toMatchObject({ paused: true, note: expect.stringMatching(/sheetsOutage/) });
    expect((await schedulePaused(t, 'import')).paused).toBe(true);
    expect((await schedulePaused(t, 'backup')).paused).toBe(false);
    expect(alert('sheets-outage')).toMatchObject({ level: 'critical', message: expect.stringMatching(/^approvals offline: .* fails at spreadsheet/), resolved_at: null });

    // A person keeps deciding during the outage; the API comes back; the operator says so.
    t.sheets.type(ids[2]!, 'G', 'yes');
    t.sheets.emu.clearFaults();
    await t.client.workflow.getHandle(outageId()).signal(restoredSignal, { by: 'ops-oncall' });
    const result = (await t.client.workflow.getHandle(outageId()).result()) as SheetsOutageResult;
    expect(result).toMatchObject({
      outcome: 'completed',
      failedPart: 'spreadsheet',
      restoredBy: 'ops-oncall',
      pausedSchedules: ['export', 'import'],
      unpausedSchedules: ['export', 'import'],
      caughtUp: { decisionsApplied: 3, notApplied: 0 },
    });
    expect(result.outageMs).toBeGreaterThan(0);
    expect(statuses(ids)).toEqual(['approved', 'rejected', 'approved']);
    expect((await schedulePaused(t, 'export')).paused).toBe(false);
    expect((await schedulePaused(t, 'import')).paused).toBe(false);
    expect(alert('sheets-outage')).toMatchObject({ resolved_at: expect.any(String), resolution: expect.stringMatching(/3 decisions applied/) });
    const again = await importRun();
    expect(again).toMatchObject({ applied: 0, alreadyApplied: 3 });
    expect(t.sheets.rows('Status')[3]?.[1] ?? null).toBeNull();
  });

  it('polls on its own with growing intervals until the API is back (started from the CLI)', async () => {
    t.sheets.emu.fault({ kind: 503, count: Infinity });
    const start = await runCli(t, ['--json', 'sheets-outage', 'start', '--poll-intervals', '1s,2s', '--reason', 'drill'], t.sheets.env);
    expect(start.code).toBe(0);
    expect(JSON.parse(start.stdout)).toMatchObject({ workflowId: outageId(), started: true });
    const second = await runCli(t, ['--json', 'sheets-outage', 'start'], t.sheets.env);
    expect(JSON.parse(second.stdout)).toMatchObject({ workflowId: outageId(), started: false });
    await eventually(async () => ((await t.client.workflow.getHandle(outageId()).query(statusQuery)).facts.polls as number) >= 2, 60_000, 'two polls');
    t.sheets.emu.clearFaults();
    const result = (await t.client.workflow.getHandle(outageId()).result()) as SheetsOutageResult;
    expect(result.outcome).toBe('completed');
    expect(result.failedPart).toBe('spreadsheet');
    expect(result.polls).toBeGreaterThanOrEqual(3);
    expect(result.restoredBy).toBeUndefined();
    expect(result.caughtUp?.rowsExported).toBe(pending().length);
  });

  it('abort unpauses exactly what it paused and resolves its alert', async () => {
    await t.client.schedule.getHandle(`${t.config.scheduleIdPrefix}import`).pause('paused by the operator for testing');
    t.sheets.emu.fault({ kind: 'reset', count: Infinity });
    await runCli(t, ['sheets-outage', 'start', '--poll-intervals', '1h'], t.sheets.env);
    await eventually(async () => (await phase()) === 'wait', 60_000, 'the outage procedure to wait');
    const abort = await runCli(t, ['sheets-outage', 'abort', '--by', 'ops-oncall'], t.sheets.env);
    expect(abort.code).toBe(0);
    const result = (await t.client.workflow.getHandle(outageId()).result()) as SheetsOutageResult;
    expect(result).toMatchObject({ outcome: 'aborted', abortedBy: 'ops-oncall', pausedSchedules: ['export'], leftPaused: ['import'], unpausedSchedules: ['export'] });
    // A reset connection fails the HTTPS part of the check, and the summary says so.
    expect(result.failedPart).toBe('https');
    expect((await schedulePaused(t, 'export')).paused).toBe(false);
    expect((await schedulePaused(t, 'import')).paused).toBe(true);
    expect(alert('sheets-outage')?.resolved_at).toEqual(expect.any(String));
    const late = await runCli(t, ['sheets-outage', 'restored'], t.sheets.env);
    expect(late.code).toBe(2);
    expect(late.stderr).toMatch(/no sheets outage procedure is running/);
  });
});
