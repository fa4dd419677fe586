// Fault suite, maintenance (docs/safety.md#durable-progress): the worker is SIGKILLed at each step
// boundary and in the middle of the snapshot, a fresh worker takes over, and the cycle completes
// with each effect exactly once: one verified snapshot, schedules paused and unpaused once, the
// flag gone, the lock released.
import { describe, expect, it } from 'vitest';
import { atlasPaths } from '../../src/paths';
import { padAtlasDb } from '../../src/db/demo-seed';
import { statusQuery } from '../../workflows/lib/procedure';
import type { MaintenanceResult } from '../../workflows/maintenance';
import { startAtlas } from '../helpers/atlas';
import { createSchedules, eventually, runCli, spawnWorker } from '../helpers/env';
import { expectMaintenanceCompletedOnce, makeTheEdit } from './checks';
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
      const t = await startAtlas();
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
        makeTheEdit(t);
        expect((await runCli(t, ['maintenance', 'resume', workflowId, '--by', 'fault-suite'])).code).toBe(0);
        if (!killedBeforeEdit) {
          await eventually(() => worker.exitCode !== null || worker.signalCode !== null, 90_000, `the worker to die at ${point}`);
          worker = spawnWorker(t);
        }
        const result = (await handle.result()) as MaintenanceResult;

        dataLost = await expectMaintenanceCompletedOnce(t, result);
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
