// Fault suite, atlas.db corrupted while an export is under way (after the run started, while it
// waits on a slow sheet read, before it reads the database): the export stops with a typed,
// non-retryable DatabaseCorrupt failure that names the next command, writes nothing to the sheet,
// and leaves the corrupt file exactly as it was (the evidence corruption recovery needs).
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { atlasPaths } from '../../src/paths';
import { exportApprovals } from '../../src/sheets/sync';
import { startAtlas } from '../helpers/atlas';
import { eventually, uid } from '../helpers/env';
import { zeroHeader } from '../helpers/corrupt';
import { recordFault } from './report';

describe('a database corrupted during an export', { timeout: 120_000 }, () => {
  it('fails DatabaseCorrupt, writes nothing to the sheet and keeps the corrupt file as it was', async () => {
    const t = await startAtlas({ sheets: true, worker: true });
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
      await eventually(async () => (await handle.describe()).raw.pendingActivities?.some((a) => a.activityType?.name === 'sheetsExportRun'), 30_000, 'the export run to start');
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
      survived = true;
    } finally {
      recordFault({ fault: 'export: atlas.db corrupted mid-run', survived, dataLost });
      await t.cleanup();
    }
  });
});
