// Fault suite, maintenance (PRODUCT.md §5 invariant 5): the worker is SIGKILLed at each step
// boundary and in the middle of the snapshot, a fresh worker takes over, and the cycle completes
// with each effect exactly once: one verified snapshot, schedules paused and unpaused once, the
// flag gone, the lock released.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { atlasPaths } from '../../src/paths';
import { listBackups } from '../../src/db/snapshot';
import { padAtlasDb } from '../../src/db/demo-seed';
import { openDatabase } from '../../src/db/sqlite';
import { statusQuery } from '../../workflows/lib/procedure';
import type { MaintenanceResult } from '../../workflows/maintenance';
import { createSchedules, eventually, makeEnv, runCli, schedulePaused, spawnWorker } from '../helpers/env';
import { recordFault } from './report';

const KILL_POINTS = [
  'acquireDbLock:after',
  'pauseSchedules:after',
  'waitForSchedulesIdle:before',
  'snapshotAtlasDb:during:150',
  'snapshotAtlasDb:after',
  'setMaintenanceFlag:after',
  'checkAtlasDb:before',
  'clearMaintenanceFlag:after',
  'unpauseSchedules:after',
  'releaseDbLock:before',
];

// Concurrent: each case mostly waits for Temporal to notice the dead worker (activity timeouts).
describe.concurrent('maintenance under SIGKILL', { timeout: 240_000 }, () => {
  for (const point of KILL_POINTS) {
    it(`completes exactly once when the worker dies at ${point}`, async () => {
      const t = await makeEnv();
      const paths = atlasPaths(t.home);
      // Large enough that the snapshot is still copying when "during" strikes.
      padAtlasDb(paths.atlasDb, 40);
      await createSchedules(t, ['export', 'import', 'backup'], ['backup']);
      let worker = spawnWorker(t, { ATLAS_FAULT_KILL: point });
      let survived = false;
      let dataLost = 0;
      try {
        const start = await runCli(t, ['--json', 'maintenance', 'start', '--reason', `fault ${point}`]);
        const { workflowId } = JSON.parse(start.stdout) as { workflowId: string };
        const handle = t.client.workflow.getHandle(workflowId);
        const killedBeforeEdit = !/^(checkAtlasDb|clearMaintenanceFlag|unpauseSchedules|releaseDbLock)/.test(point);
        if (killedBeforeEdit) {
          await eventually(() => worker.exitCode !== null || worker.signalCode !== null, 90_000, `the worker to die at ${point}`);
          worker = spawnWorker(t);
        }
        await eventually(async () => {
          const s = await handle.query(statusQuery);
          return s.phase === 'edit' && s.state === 'waiting';
        }, 90_000, 'the edit phase');
        const edited = openDatabase(paths.atlasDb, { wal: true });
        edited.prepare("INSERT INTO errors (at, source, level, message) VALUES ('2026-11-28T00:00:00Z', 'fault', 'info', 'the edit')").run();
        edited.close();
        expect((await runCli(t, ['maintenance', 'resume', workflowId, '--by', 'fault-suite'])).code).toBe(0);
        if (!killedBeforeEdit) {
          await eventually(() => worker.exitCode !== null || worker.signalCode !== null, 90_000, `the worker to die at ${point}`);
          worker = spawnWorker(t);
        }
        const result = (await handle.result()) as MaintenanceResult;

        expect(result.outcome).toBe('completed');
        const backups = listBackups(paths.backupsDir);
        expect(backups).toHaveLength(1);
        expect(backups[0]!.verified).toBe(true);
        expect(fs.readdirSync(paths.backupsDir).filter((f) => f.includes('partial'))).toEqual([]);
        expect(result.pausedSchedules).toEqual(['export', 'import']);
        expect(result.unpausedSchedules).toEqual(['export', 'import']);
        expect((await schedulePaused(t, 'export')).paused).toBe(false);
        expect((await schedulePaused(t, 'import')).paused).toBe(false);
        expect(await schedulePaused(t, 'backup')).toEqual({ paused: true, note: 'paused by the operator for testing' });
        expect(fs.existsSync(paths.maintenanceFlag)).toBe(false);
        const ops = openDatabase(paths.opsDb, { readonly: true });
        expect(ops.prepare('SELECT count(*) FROM locks').pluck().get()).toBe(0);
        ops.close();
        const db = openDatabase(paths.atlasDb, { readonly: true });
        dataLost = db.prepare("SELECT count(*) FROM errors WHERE message = 'the edit'").pluck().get() === 1 ? 0 : 1;
        db.close();
        expect(dataLost).toBe(0);
        survived = true;
      } finally {
        recordFault({ fault: `maintenance: SIGKILL ${point}`, survived, dataLost });
        worker.kill('SIGKILL');
        await t.cleanup();
      }
    });
  }
});
