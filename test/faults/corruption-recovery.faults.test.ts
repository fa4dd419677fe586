// Fault suite, corruption recovery Option B: the worker is SIGKILLed at the step boundaries of a
// restore and while the staging copy is being written and checked (killed from outside the moment
// `atlas.db.restored` appears: the restore is synchronous, so a timer inside the worker could not
// strike during it). A fresh worker takes over; atlas.db ends sound with the backup's rows, the
// corrupt file is kept byte for byte, and no backup is deleted.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { atlasPaths } from '../../src/paths';
import { listBackups, takeSnapshot } from '../../src/db/snapshot';
import { padAtlasDb } from '../../src/db/demo-seed';
import { integrityProblems, openDatabase, rowCounts } from '../../src/db/sqlite';
import type { CorruptionRecoveryResult } from '../../workflows/corruption-recovery';
import { startAtlas } from '../helpers/atlas';
import { spawnWorker, uid } from '../helpers/env';
import { garbageOverPages } from '../helpers/corrupt';
import { killOnFileEvent, workerDied } from './checks';
import { recordFault } from './report';

/** Kill points for ATLAS_FAULT_KILL, and "staging": killed from outside while the staging copy exists. */
const KILL_POINTS = [
  'assessAtlasDb:after',
  'restoreNewestGoodBackup:before',
  'staging',
  'restoreNewestGoodBackup:after',
  'probeAtlasDb:before',
];

describe.concurrent('corruptionRecovery (Option B) under SIGKILL', { timeout: 240_000 }, () => {
  for (const point of KILL_POINTS) {
    it(`restores the backup once and keeps the evidence when the worker dies at ${point}`, async () => {
      const t = await startAtlas();
      const paths = atlasPaths(t.home);
      // Large enough that copying and checking the staging copy takes a noticeable while.
      padAtlasDb(paths.atlasDb, 40);
      const backup = await takeSnapshot({ source: paths.atlasDb, backupsDir: paths.backupsDir, reason: 'fault baseline' });
      const backupsBefore = listBackups(paths.backupsDir).map((b) => b.name);
      garbageOverPages(paths.atlasDb);
      const corruptBytes = fs.readFileSync(paths.atlasDb);
      let worker = spawnWorker(t, point === 'staging' ? {} : { ATLAS_FAULT_KILL: point });
      const watcher = point === 'staging' ? killOnFileEvent(paths.dataDir, (name) => name === 'atlas.db.restored', () => worker.kill('SIGKILL')) : undefined;
      let survived = false;
      let dataLost = 0;
      try {
        const handle = await t.client.workflow.start('corruptionRecovery', {
          taskQueue: t.config.taskQueue,
          workflowId: `recovery-fault-${uid()}`,
          args: [{ allowOci: false, trigger: `fault ${point}` }],
        });
        await workerDied(worker, point);
        worker = spawnWorker(t);
        const r = (await handle.result()) as CorruptionRecoveryResult;

        expect(r.outcome).toBe('completed');
        expect(r.method).toBe('B');
        expect(r.optionB?.restoredFrom).toBe(backup.file);
        const db = openDatabase(paths.atlasDb, { readonly: true });
        expect(integrityProblems(db)).toEqual([]);
        expect(rowCounts(db)).toEqual(backup.rowCounts);
        db.close();
        const kept = fs.readdirSync(paths.dataDir).filter((f) => /^atlas\.db\.corrupted-\d{8}-\d{6}$/.test(f));
        expect(kept).toHaveLength(1);
        expect(fs.readFileSync(path.join(paths.dataDir, kept[0]!)).equals(corruptBytes)).toBe(true);
        expect(fs.existsSync(`${paths.atlasDb}.restored`)).toBe(false);
        expect(listBackups(paths.backupsDir).map((b) => b.name)).toEqual(backupsBefore);
        expect(fs.existsSync(paths.maintenanceFlag)).toBe(false);
        survived = true;
      } catch (err) {
        // Data lost: the evidence or a backup is gone.
        const evidence = fs.readdirSync(paths.dataDir).some((f) => f.startsWith('atlas.db.corrupted-'));
        dataLost = (evidence ? 0 : 1) + backupsBefore.filter((b) => !fs.existsSync(path.join(paths.backupsDir, b))).length;
        throw err;
      } finally {
        recordFault({ fault: `corruptionRecovery B: SIGKILL ${point}`, survived, dataLost });
        watcher?.close();
        worker.kill('SIGKILL');
        await t.cleanup();
      }
    });
  }
});
