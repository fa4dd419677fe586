// Fault suite, the Sheets outage: the worker is SIGKILLed while the outage procedure detects the
// outage and enters read-only mode (records it, checks connectivity, pauses the sync schedules),
// while it waits for the Sheets API (killed from outside between polls, and after a poll that
// still fails), and at each step of the catch-up (full export, force-check import, unpause). A
// fresh worker takes over; every decision typed before and during the outage is applied exactly
// once (a second import finds all of them already applied and changes no decided_at),
// export/import are paused and unpaused once, one alert is raised and resolved, and each event of
// the procedure's log is recorded once.
import { describe, expect, it } from 'vitest';
import { atlasPaths } from '../../src/paths';
import { openDatabase } from '../../src/db/sqlite';
import { exportApprovals } from '../../src/sheets/sync';
import { statusQuery } from '../../workflows/lib/procedure';
import { OUTAGE_ALERT, restoredSignal, type SheetsOutageResult } from '../../workflows/sheets-outage';
import { startAtlas } from '../helpers/atlas';
import { createSchedules, eventually, schedulePaused, uid, type TestEnv } from '../helpers/env';
import { pendingApprovals } from '../helpers/sheets';
import { faultWorker, repeatedProcedureEvents } from './checks';
import { recordFault } from './report';

const KILL_POINTS = [
  // Detection and read-only mode, before the wait: after the outage is recorded (the next step is
  // the connectivity check), after the check that finds the outage, before and after the pause.
  'recordProcedureEvent:after',
  'sheetsConnectivity:after',
  'pauseSchedules:before',
  'pauseSchedules:after',
  // The wait: "wait" is killed from outside while it sleeps between polls; the first poll still fails.
  'wait',
  'sheetsConnectivity#2:after',
  // The catch-up, after the operator's "restored".
  'sheetsExportRun:after',
  'sheetsImportRun:before',
  'sheetsImportRun:after',
  'unpauseSchedules:after',
];
/** Points at which the first worker is dead while the procedure waits; the others strike after "restored". */
const DEAD_IN_WAIT = /^(recordProcedureEvent|sheetsConnectivity|pauseSchedules|wait)/;
const EXPECTED = ['approved', 'rejected', 'approved'];

/** The outage alerts raised in ops.db, and how many are still open. */
function outageAlerts(t: TestEnv): { raised: number; open: number } {
  const ops = openDatabase(atlasPaths(t.home).opsDb, { readonly: true });
  try {
    return ops.prepare('SELECT count(*) AS raised, count(*) - count(resolved_at) AS open FROM alerts WHERE code = ?').get(OUTAGE_ALERT) as { raised: number; open: number };
  } finally {
    ops.close();
  }
}

describe.concurrent('sheetsOutage under SIGKILL', { timeout: 240_000 }, () => {
  for (const point of KILL_POINTS) {
    it(`applies every decision exactly once when the worker dies at ${point}`, async () => {
      const t = await startAtlas({ sheets: true });
      const s = t.sheets;
      await createSchedules(t, ['export', 'import', 'backup']);
      const approvals = (ids: string[]) => {
        const db = openDatabase(atlasPaths(t.home).atlasDb, { readonly: true });
        try {
          return ids.map((id) => db.prepare('SELECT status, decided_at FROM approvals WHERE id = ?').get(id) as { status: string; decided_at: string | null });
        } finally {
          db.close();
        }
      };
      await exportApprovals(s.api(), atlasPaths(t.home).atlasDb, { now: new Date() });
      const ids = pendingApprovals(t).slice(0, 3);
      s.type(ids[0]!, 'G', 'approve');
      s.type(ids[1]!, 'G', 'reject');
      s.emu.fault({ kind: 401, count: Infinity });
      const worker = faultWorker(t, s.env, point === 'wait' ? undefined : point);
      let survived = false;
      let dataLost = 0;
      try {
        const handle = await t.client.workflow.start('sheetsOutage', {
          taskQueue: t.config.taskQueue,
          workflowId: `outage-fault-${uid()}`,
          args: [{ reason: `fault ${point}`, pollIntervals: ['2s'] }],
        });
        const waiting = () => eventually(async () => (await handle.query(statusQuery)).phase === 'wait', 90_000, 'the outage procedure to wait');
        await waiting();
        if (point === 'wait') worker.kill();
        if (DEAD_IN_WAIT.test(point)) {
          await worker.restarted(point);
          await waiting();
        }
        expect((await schedulePaused(t, 'export')).paused).toBe(true);
        // A person keeps deciding during the outage; the API comes back; the operator says so.
        s.type(ids[2]!, 'G', 'yes');
        s.emu.clearFaults();
        await handle.signal(restoredSignal, { by: 'fault-suite' });
        await worker.restarted(point);
        const result = (await handle.result()) as SheetsOutageResult;

        expect(result.outcome).toBe('completed');
        expect(result.pausedSchedules).toEqual(['export', 'import']);
        expect(result.unpausedSchedules).toEqual(['export', 'import']);
        // A killed import may have written before it died: its retry finds those already applied.
        expect(result.caughtUp!.decisionsApplied + result.caughtUp!.alreadyApplied).toBe(3);
        expect(result.caughtUp!.notApplied).toBe(0);
        const after = approvals(ids);
        dataLost = after.filter((a, k) => a.status !== EXPECTED[k]).length;
        expect(after.map((a) => a.status)).toEqual(EXPECTED);
        expect((await schedulePaused(t, 'export')).paused).toBe(false);
        expect((await schedulePaused(t, 'import')).paused).toBe(false);
        expect((await schedulePaused(t, 'backup')).paused).toBe(false);
        const again = await t.client.workflow.execute('sheetsImport', { taskQueue: t.config.taskQueue, workflowId: `import-${uid()}`, args: [{ forceCheck: true }] });
        expect(again).toMatchObject({ applied: 0, alreadyApplied: 3, notApplied: 0 });
        expect(approvals(ids)).toEqual(after);
        expect(outageAlerts(t)).toEqual({ raised: 1, open: 0 });
        expect(repeatedProcedureEvents(t, result.workflowId)).toEqual([]);
        survived = true;
      } finally {
        recordFault({ fault: `sheetsOutage: SIGKILL ${point}`, survived, dataLost });
        worker.stop();
        await t.cleanup();
      }
    });
  }
});
