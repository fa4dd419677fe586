// Fault suite, the scheduled backup: the worker is SIGKILLed around and in the middle of the
// snapshot and around retention; a fresh worker takes over. Each run leaves exactly one new
// verified backup, no partial file, and retention keeps the newest `keep` verified backups
// (never the fresh one deleted, never fewer than `keep`).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { atlasPaths } from '../../src/paths';
import { listBackups, takeSnapshot } from '../../src/db/snapshot';
import { padAtlasDb } from '../../src/db/demo-seed';
import type { BackupResult } from '../../workflows/backup';
import { startAtlas } from '../helpers/atlas';
import { spawnWorker, uid } from '../helpers/env';
import { workerDied } from './checks';
import { recordFault } from './report';

const KILL_POINTS = [
  'maintenanceFlagStatus:after',
  'snapshotAtlasDb:before',
  'snapshotAtlasDb:during:150',
  'snapshotAtlasDb:after',
  'pruneLocalBackups:before',
  'pruneLocalBackups:after',
];
const KEEP = 2;

describe.concurrent('backup under SIGKILL', { timeout: 240_000 }, () => {
  for (const point of KILL_POINTS) {
    it(`leaves exactly one new verified backup and the right retention when the worker dies at ${point}`, async () => {
      const t = await startAtlas();
      const paths = atlasPaths(t.home);
      // Three older verified backups (taken while the database is small), then a database large
      // enough that the snapshot is still copying when "during" strikes.
      for (let day = 1; day <= 3; day++) {
        await takeSnapshot({ source: paths.atlasDb, backupsDir: paths.backupsDir, reason: 'older', now: new Date(Date.UTC(2026, 0, day)) });
      }
      const older = listBackups(paths.backupsDir).map((b) => b.name);
      padAtlasDb(paths.atlasDb, 40);
      let worker = spawnWorker(t, { ATLAS_FAULT_KILL: point });
      let survived = false;
      let dataLost = 0;
      try {
        const handle = await t.client.workflow.start('backup', { taskQueue: t.config.taskQueue, workflowId: `backup-fault-${uid()}`, args: [{ keep: KEEP }] });
        await workerDied(worker, point);
        worker = spawnWorker(t);
        const result = (await handle.result()) as BackupResult;

        expect(result.outcome).toBe('completed');
        const backups = listBackups(paths.backupsDir);
        const fresh = backups.filter((b) => !older.includes(b.name));
        expect(fresh.map((b) => b.name)).toEqual([result.backup!.file]);
        expect(fresh[0]!.verified).toBe(true);
        expect(fresh[0]!.manifest!.rowCounts).toEqual(result.backup!.rowCounts);
        // Retention: the fresh one and the newest older one; the two oldest removed (once).
        expect(backups.filter((b) => b.verified)).toHaveLength(KEEP);
        expect(backups.map((b) => b.name).sort()).toEqual([older.sort()[2]!, result.backup!.file].sort());
        expect(fs.readdirSync(paths.backupsDir).filter((f) => f.includes('partial'))).toEqual([]);
        // Data lost: a backup that should have been kept is gone.
        dataLost = [older.sort()[2]!, result.backup!.file].filter((f) => !fs.existsSync(path.join(paths.backupsDir, f))).length;
        expect(dataLost).toBe(0);
        survived = true;
      } finally {
        recordFault({ fault: `backup: SIGKILL ${point}`, survived, dataLost });
        worker.kill('SIGKILL');
        await t.cleanup();
      }
    });
  }
});
