// Fault suite, atlas.db corrupted while an export is under way (after the run started, while it
// waits on a slow sheet read, before it reads the database): the export stops with a typed,
// non-retryable DatabaseCorrupt failure that names the next command, writes nothing to the sheet,
// raises the critical corruption alert, and (recovery.onCorruption = alert-only) leaves the corrupt
// file exactly as it was. An import that meets a corrupt database starts corruption recovery, as the
// snapshot does, and is not counted as a Sheets outage.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { openOpsDb } from '../../src/db/ops-db';
import { takeSnapshot } from '../../src/db/snapshot';
import { atlasPaths } from '../../src/paths';
import { recordRun } from '../../src/sheets/runs';
import { singletonId } from '../../src/temporal/start';
import { CORRUPTION_ALERT, CORRUPTION_RECOVERY, OUTAGE_SINGLETON } from '../../src/workflow-safe/singletons';
import type { CorruptionRecoveryResult } from '../../workflows/corruption-recovery';
import { exportApprovals } from '../../src/sheets/sync';
import { startAtlas } from '../helpers/atlas';
import { eventually, uid } from '../helpers/env';
import { zeroHeader } from '../helpers/corrupt';
import { recordFault } from './report';

/** The open alert with this code, or undefined. */
function openAlert(opsDb: string, code: string): { level: string; message: string } | undefined {
  const ops = openOpsDb(opsDb);
  try {
    return ops.prepare('SELECT level, message FROM alerts WHERE code = ? AND resolved_at IS NULL').get(code) as { level: string; message: string } | undefined;
  } finally {
    ops.close();
  }
}

describe('a database corrupted during an export', { timeout: 120_000 }, () => {
  it('fails DatabaseCorrupt, writes nothing to the sheet and keeps the corrupt file as it was', async () => {
    const t = await startAtlas({ sheets: true, worker: true, overrides: { 'recovery.onCorruption': 'alert-only' } });
    const s = t.sheets;
    const paths = atlasPaths(t.home);
    let survived = false;
    let dataLost = 0;
    try {
      await exportApprovals(s.api(), paths.atlasDb, { now: new Date() });
      const sheetBefore = JSON.stringify(s.rows());
      const writesBefore = s.writes();
      s.emu.fault({ kind: 'latency', latencyMs: 3000, count: 1 });
      const handle = await t.client.workflow.start('sheetsExport', { taskQueue: t.config.taskQueue, workflowId: `export-corrupt-${uid()}`, args: [{}] });
      // Inside the run: its first Sheets read has reached the emulator, which holds it 3 s before the
      // run reads atlas.db; seen in this process, not through the server's describe of a pending
      // activity, which a loaded machine answered late, eating into those 3 s.
      await eventually(() => s.emu.stats().faulted >= 1, 60_000, 'the export run to be in its Sheets read');
      // A zeroed header, not garbage over some pages: the export reads only approvals and tasks, and
      // damage in other tables' pages is (correctly) not its to notice.
      zeroHeader(paths.atlasDb);
      const corruptBytes = fs.readFileSync(paths.atlasDb);

      const err = await handle.result().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
      expect(cause).toBeInstanceOf(ApplicationFailure);
      expect(cause.type).toBe('DatabaseCorrupt');
      expect(cause.nonRetryable).toBe(true);
      expect(cause.message).toMatch(/atlas-ops recover corruption/);
      expect(s.writes()).toBe(writesBefore);
      expect(JSON.stringify(s.rows())).toBe(sheetBefore);
      dataLost = fs.readFileSync(paths.atlasDb).equals(corruptBytes) ? 0 : 1;
      expect(dataLost).toBe(0);
      expect(openAlert(paths.opsDb, CORRUPTION_ALERT)).toMatchObject({ level: 'critical', message: expect.stringMatching(/atlas-ops recover corruption/) });
      // alert-only: nothing started.
      expect(await t.client.workflow.getHandle(singletonId(t.config, CORRUPTION_RECOVERY)).describe().then(() => true, () => false)).toBe(false);
      survived = true;
    } finally {
      recordFault({ fault: 'export: atlas.db corrupted mid-run', survived, dataLost });
      await t.cleanup();
    }
  });

  it('an import that meets a corrupt database raises the alert and starts corruption recovery, not an outage', async () => {
    const t = await startAtlas({ sheets: true, worker: true });
    const paths = atlasPaths(t.home);
    let survived = false;
    let dataLost = 0;
    try {
      const backup = await takeSnapshot({ source: paths.atlasDb, backupsDir: paths.backupsDir, reason: 'test baseline' });
      zeroHeader(paths.atlasDb);
      const corruptBytes = fs.readFileSync(paths.atlasDb);
      // Two connectivity failures two hours ago: a corrupt database counted as a Sheets failure would
      // make three in a row, and two hours offline; either starts the outage procedure.
      const ops = openOpsDb(paths.opsDb);
      const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000).toISOString();
      for (const id of ['a', 'b']) recordRun(ops, { direction: 'import', workflowId: `earlier-${id}`, startedAt: twoHoursAgo, finishedAt: twoHoursAgo, outcome: 'failed', error: 'SheetsUnreachable: ECONNREFUSED' });
      ops.close();
      const err = await t.client.workflow.execute('sheetsImport', { taskQueue: t.config.taskQueue, workflowId: `import-corrupt-${uid()}`, args: [{}] }).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
      expect(cause.type).toBe('DatabaseCorrupt');
      expect(cause.message).toMatch(/corruptionRecovery .* is running/);
      expect(cause.message).not.toMatch(/Outage procedure/);
      expect(await t.client.workflow.getHandle(singletonId(t.config, OUTAGE_SINGLETON)).describe().then(() => true, () => false)).toBe(false);
      expect(openAlert(paths.opsDb, CORRUPTION_ALERT)).toMatchObject({ level: 'critical' });
      // Recovery was started by the import and restores the backup.
      const recovery = t.client.workflow.getHandle(singletonId(t.config, CORRUPTION_RECOVERY));
      const r = (await recovery.result()) as CorruptionRecoveryResult;
      expect(r).toMatchObject({ found: 'corrupt', method: 'B', optionB: { restoredFrom: backup.file } });
      expect(r.trigger).toMatch(/atlas\.db/);
      const kept = fs.readdirSync(paths.dataDir).find((f) => /^atlas\.db\.corrupted-\d{8}-\d{6}$/.test(f));
      dataLost = kept && fs.readFileSync(`${paths.dataDir}/${kept}`).equals(corruptBytes) ? 0 : 1;
      expect(dataLost).toBe(0);
      survived = true;
    } finally {
      recordFault({ fault: 'import: atlas.db corrupt', survived, dataLost });
      await t.cleanup();
    }
  });
});
