// Fault suite, disk full during a scheduled backup (the backup workflow, not only takeSnapshot as
// test/backup.test.ts checks): backups/ is a real 4 MB tmpfs with about 1 MB free and atlas.db is
// about 2 MB. The snapshot step fails after its retries, leaves no partial file, and waits for the
// operator with the disk-full hint; space is freed, the operator says retry, and the run completes
// with exactly one verified backup.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { atlasPaths } from '../../src/paths';
import { listBackups } from '../../src/db/snapshot';
import { decisionSignal, statusQuery } from '../../workflows/lib/procedure';
import type { BackupResult } from '../../workflows/backup';
import { startAtlas } from '../helpers/atlas';
import { eventually, uid } from '../helpers/env';
import { addBallast, canMountTmpfs, fillFile } from '../helpers/tmpfs';
import { recordFault } from './report';

const MB = 1 << 20;

describe.skipIf(!canMountTmpfs())('disk full during a backup', { timeout: 180_000 }, () => {
  it('waits for the operator without a partial file, and completes once after space is freed', async () => {
    const t = await startAtlas({
      worker: true,
      prepare(a) {
        const paths = atlasPaths(a.home);
        addBallast(paths.atlasDb);
        execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${4 * MB}`, 'tmpfs', paths.backupsDir]);
        a.defer(() => execFileSync('umount', ['-l', paths.backupsDir]));
        fillFile(path.join(paths.backupsDir, 'filler'), 3 * MB);
      },
    });
    const paths = atlasPaths(t.home);
    const filler = path.join(paths.backupsDir, 'filler');
    let survived = false;
    let dataLost = 0;
    try {
      const handle = await t.client.workflow.start('backup', { taskQueue: t.config.taskQueue, workflowId: `backup-full-${uid()}`, args: [{ decisionTimeout: '10m' }] });
      const failed = await eventually(async () => (await handle.query(statusQuery)).failedStep, 120_000, 'the snapshot step to fail');
      expect(failed.step).toBe('snapshot');
      expect(failed.error).toMatch(/disk full/);
      expect(listBackups(paths.backupsDir)).toEqual([]);
      expect(fs.readdirSync(paths.backupsDir).filter((f) => f.includes('partial') || f.endsWith('-journal'))).toEqual([]);

      fs.rmSync(filler);
      await handle.signal(decisionSignal, { decision: 'retry', by: 'fault-suite' });
      const result = (await handle.result()) as BackupResult;
      expect(result.outcome).toBe('completed');
      const backups = listBackups(paths.backupsDir);
      expect(backups.map((b) => [b.name, b.verified])).toEqual([[result.backup!.file, true]]);
      dataLost = fs.existsSync(paths.atlasDb) ? 0 : 1;
      survived = true;
    } finally {
      recordFault({ fault: 'backup: disk full during the snapshot', survived, dataLost });
      await t.cleanup();
    }
  });
});
