// Monitoring never pauses for a recovery (docs/safety.md#monitoring-never-pauses-for-a-recovery):
// while corruption recovery waits for a person (Option C's approval, through the OCI emulator),
// health and the alert digest keep running, a critical alert pages after recovery.pageAfter, and
// the wait ends after recovery.personTimeout with its explicit outcome: the recovery fails, safe.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { openOpsDb } from '../src/db/ops-db';
import { atlasPaths } from '../src/paths';
import { ALL_SCHEDULES, MONITORING, TOUCHING_ATLAS_DB } from '../src/workflow-safe/schedule-names';
import { statusQuery } from '../workflows/lib/procedure';
import { useAtlas } from './helpers/atlas';
import { eventually, schedulePaused, uid } from './helpers/env';
import { zeroHeader } from './helpers/corrupt';

const VOLUME = 'ocid1.volume.oc1.emulator.atlas-home';

describe('corruption recovery waiting for an approval', () => {
  const t = useAtlas({
    oci: { volumes: [VOLUME], availableAfterMs: 200, pollInterval: 100 },
    worker: true,
    schedules: [...ALL_SCHEDULES],
    overrides: { 'recovery.pageAfter': '3s', 'recovery.personTimeout': '10s', 'app.units': '' },
  });

  const alert = (code: string) => {
    const ops = openOpsDb(atlasPaths(t.home).opsDb);
    try {
      return ops.prepare('SELECT level, message, resolved_at FROM alerts WHERE code = ? ORDER BY id DESC').get(code) as { level: string; message: string; resolved_at: string | null } | undefined;
    } finally {
      ops.close();
    }
  };

  it('keeps health and the digest running, pages after recovery.pageAfter, and fails safe after recovery.personTimeout', async () => {
    await t.client.workflow.execute('backup', { taskQueue: t.config.taskQueue, workflowId: `backup-${uid()}`, args: [{ oci: true }] });
    // No usable local backup: Option C is the one left, and it needs a person's approval.
    fs.renameSync(path.join(t.home, 'backups'), path.join(t.home, 'hidden-backups'));
    zeroHeader(path.join(t.home, 'data', 'atlas.db'));
    const handle = await t.client.workflow.start('corruptionRecovery', { taskQueue: t.config.taskQueue, workflowId: `recovery-wait-${uid()}`, args: [{ allowOci: true, reminderInterval: '1h' }] });
    await eventually(async () => (await handle.query(statusQuery)).waitingFor?.includes('approval'), 60_000, 'the approval wait');
    for (const name of TOUCHING_ATLAS_DB) expect((await schedulePaused(t, name)).paused, name).toBe(true);
    for (const name of MONITORING) expect((await schedulePaused(t, name)).paused, name).toBe(false);
    const code = `corruption-oci-approval:${handle.workflowId}`;
    const page = await eventually(() => (alert(code)?.level === 'critical' ? alert(code) : undefined), 60_000, 'the page');
    expect(page.message).toMatch(/^page: .*has waited/);
    // Info first, the page later: read from the alerts log (a line per raise, in order), as a loaded
    // machine can reach ops.db after the 3 s before the page, or before the info alert is written.
    const raises = fs.readFileSync(atlasPaths(t.home).log('alerts'), 'utf8').split('\n').filter(Boolean)
      .map((l) => JSON.parse(l) as { event: string; code: string; level: string; message: string })
      .filter((e) => e.code === code);
    expect(raises[0]).toMatchObject({ event: 'alert-raised', level: 'info' });
    expect(raises.findIndex((e) => e.level === 'critical' && e.message.startsWith('page: '))).toBeGreaterThan(0);

    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as { type?: string; message: string };
    expect(cause.type).toBe('RecoveryFailed');
    expect(cause.message).toMatch(/no approval of Option C within 10s/);
    expect(alert(code)?.resolved_at).not.toBeNull();
    expect(alert(`corruption-recovery-failed:${handle.workflowId}`)?.level).toBe('critical');
    // The timeout outcome is the recovery's safe state: what touches atlas.db stays paused, monitoring runs.
    for (const name of TOUCHING_ATLAS_DB) expect((await schedulePaused(t, name)).paused, name).toBe(true);
    for (const name of MONITORING) expect((await schedulePaused(t, name)).paused, name).toBe(false);
    expect(t.oci.volumes().filter((v) => v.sourceDetails?.type === 'volumeBackup')).toEqual([]);
  });
});
