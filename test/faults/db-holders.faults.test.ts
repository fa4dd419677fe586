// Fault suite, no swap under a live writer: the worker is SIGKILLed while a restore waits for a real
// writer to close atlas.db. A fresh worker takes over the wait (still naming the writer), and once
// the writer exits the restore completes: the backup's rows in atlas.db, the writer's rows in the
// replaced file kept beside it, the app unit stopped once and started once, nothing left paused.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { atlasPaths } from '../../src/paths';
import { takeSnapshot } from '../../src/db/snapshot';
import { openDatabase, rowCounts } from '../../src/db/sqlite';
import { statusQuery } from '../../workflows/lib/procedure';
import type { RestoreWorkflowResult } from '../../workflows/restore';
import { startAtlas } from '../helpers/atlas';
import { eventually, schedulePaused, uid } from '../helpers/env';
import { holdOpen, recordingSystemctl, stopHolder } from '../helpers/holders';
import { expectDbHoldReleased, faultWorker, repeatedProcedureEvents } from './checks';
import { recordFault } from './report';

const UNIT = 'atlas-agent.service';

describe('restore waiting for the holders of atlas.db under SIGKILL', { timeout: 240_000 }, () => {
  it('resumes the wait in a fresh worker and completes once the writer exits, losing nothing', async () => {
    const systemctl = recordingSystemctl();
    const t = await startAtlas({ schedules: ['export', 'import', 'backup'], overrides: { 'app.units': UNIT, 'swap.pollInterval': '500ms', 'swap.timeout': '10m' } });
    const paths = atlasPaths(t.home);
    const backup = await takeSnapshot({ source: paths.atlasDb, backupsDir: paths.backupsDir, reason: 'fault baseline' });
    const holder = await holdOpen(paths.atlasDb);
    const worker = faultWorker(t, { PATH: `${systemctl.bin}${path.delimiter}${process.env.PATH}` });
    let survived = false;
    let dataLost = 0;
    try {
      const handle = await t.client.workflow.start('restore', { taskQueue: t.config.taskQueue, workflowId: `restore-held-fault-${uid()}`, args: [{ backup: backup.file }] });
      const waiting = (pid: number) => eventually(async () => ((await handle.query(statusQuery)).waitingFor?.includes(`pid ${pid}`) ? true : undefined), 60_000, `waiting on pid ${pid}`);
      await waiting(holder.pid!);
      worker.kill();
      await worker.restarted('while waiting for the holders');
      // The fresh worker answers the status: still waiting, still naming the writer; nothing replaced.
      await waiting(holder.pid!);
      await stopHolder(holder);
      const heldRows = openDatabase(paths.atlasDb, { readonly: true });
      const writerRows = heldRows.prepare("SELECT count(*) FROM errors WHERE source = 'holder'").pluck().get() as number;
      heldRows.close();
      expect(writerRows).toBeGreaterThan(0);

      const r = (await handle.result()) as RestoreWorkflowResult;
      expect(r.outcome).toBe('completed');
      const db = openDatabase(paths.atlasDb, { readonly: true });
      expect(rowCounts(db)).toEqual(backup.rowCounts);
      db.close();
      // The writer's rows are in the replaced file, kept once.
      const kept = r.keptAs.find((f) => !/-(wal|shm)$/.test(f))!;
      expect(path.dirname(kept)).toBe(paths.dataDir);
      const replaced = openDatabase(kept, { readonly: true });
      const keptRows = replaced.prepare("SELECT count(*) FROM errors WHERE source = 'holder'").pluck().get() as number;
      replaced.close();
      dataLost = Math.max(0, writerRows - keptRows);
      expect(keptRows).toBe(writerRows);
      const calls = systemctl.calls();
      expect(calls.filter((c) => c === `stop ${UNIT}`)).toHaveLength(1);
      expect(calls.filter((c) => c === `start ${UNIT}`)).toHaveLength(1);
      for (const name of ['export', 'import', 'backup']) expect((await schedulePaused(t, name)).paused).toBe(false);
      expectDbHoldReleased(t);
      expect(repeatedProcedureEvents(t, r.workflowId)).toEqual([]);
      survived = true;
    } finally {
      recordFault({ fault: 'restore: SIGKILL while waiting for the holders of atlas.db', survived, dataLost });
      await stopHolder(holder);
      worker.stop();
      await t.cleanup();
      systemctl.remove();
    }
  });
});
