// Fault suite, the Sheets outage: the worker is SIGKILLed while the outage procedure pauses the
// sync schedules, and at each step of the catch-up (full export, force-check import, unpause).
// A fresh worker takes over; every decision typed before and during the outage is applied exactly
// once (a second import finds all of them already applied and changes no decided_at), and
// export/import are paused and unpaused once.
import { describe, expect, it } from 'vitest';
import { atlasPaths } from '../../src/paths';
import { openDatabase } from '../../src/db/sqlite';
import { exportApprovals } from '../../src/sheets/sync';
import { statusQuery } from '../../workflows/lib/procedure';
import { restoredSignal, type SheetsOutageResult } from '../../workflows/sheets-outage';
import { createSchedules, eventually, makeEnv, schedulePaused, spawnWorker, uid } from '../helpers/env';
import { pendingApprovals, withSheets } from '../helpers/sheets';
import { workerDied } from './checks';
import { recordFault } from './report';

const KILL_POINTS = ['pauseSchedules:after', 'sheetsExportRun:after', 'sheetsImportRun:before', 'sheetsImportRun:after', 'unpauseSchedules:after'];
const EXPECTED = ['approved', 'rejected', 'approved'];

describe.concurrent('sheetsOutage under SIGKILL', { timeout: 240_000 }, () => {
  for (const point of KILL_POINTS) {
    it(`applies every decision exactly once when the worker dies at ${point}`, async () => {
      const t = await makeEnv();
      const s = await withSheets(t);
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
      let worker = spawnWorker(t, { ...s.env, ATLAS_FAULT_KILL: point });
      let survived = false;
      let dataLost = 0;
      try {
        const handle = await t.client.workflow.start('sheetsOutage', {
          taskQueue: t.config.taskQueue,
          workflowId: `outage-fault-${uid()}`,
          args: [{ reason: `fault ${point}`, pollIntervals: ['2s'] }],
        });
        const killedBeforeWait = point.startsWith('pauseSchedules');
        if (killedBeforeWait) {
          await workerDied(worker, point);
          worker = spawnWorker(t, s.env);
        }
        await eventually(async () => (await handle.query(statusQuery)).phase === 'wait', 90_000, 'the outage procedure to wait');
        expect((await schedulePaused(t, 'export')).paused).toBe(true);
        // A person keeps deciding during the outage; the API comes back; the operator says so.
        s.type(ids[2]!, 'G', 'yes');
        s.emu.clearFaults();
        await handle.signal(restoredSignal, { by: 'fault-suite' });
        if (!killedBeforeWait) {
          await workerDied(worker, point);
          worker = spawnWorker(t, s.env);
        }
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
        survived = true;
      } finally {
        recordFault({ fault: `sheetsOutage: SIGKILL ${point}`, survived, dataLost });
        worker.kill('SIGKILL');
        await s.close();
        await t.cleanup();
      }
    });
  }
});
