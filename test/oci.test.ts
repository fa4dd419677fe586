// OCI through the local emulator with the real oci-core client (unsigned, loopback): volume
// backups with their lifecycle, a lost create response retried with the same opc-retry-token,
// a FAULTY backup, a volume id that does not exist, and Option C of corruption recovery.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { abortSignal, decisionUpdate, statusQuery } from '../workflows/lib/procedure';
import type { OciBackupResult } from '../workflows/oci-backup';
import { loadConfig } from '../src/config';
import { applySchedules, type ApplyResult } from '../src/schedules';
import { approveOciRestoreUpdate, attachmentSwappedSignal, type CorruptionRecoveryResult } from '../workflows/corruption-recovery';
import type { BackupResult } from '../workflows/backup';
import { isLoopbackUrl } from '../src/oci/blockstorage';
import { takeSnapshot } from '../src/db/snapshot';
import { useAtlas } from './helpers/atlas';
import { eventually, uid } from './helpers/env';
import { zeroHeader } from './helpers/corrupt';

const VOLUME = 'ocid1.volume.oc1.emulator.atlas-home';

describe('OCI block volume backups through the emulator', () => {
  const t = useAtlas({ oci: { volumes: [VOLUME], availableAfterMs: 600, pollInterval: 150 }, worker: true });

  const start = (type: string, input: Record<string, unknown>, id = `${type}-${uid()}`) =>
    t.client.workflow.start(type, { taskQueue: t.config.taskQueue, workflowId: id, args: [input] });

  it('the emulator listens on 127.0.0.1 only and the client goes there unsigned', () => {
    expect(t.oci.url.startsWith('http://127.0.0.1:')).toBe(true);
    expect(isLoopbackUrl(t.oci.url)).toBe(true);
    expect(isLoopbackUrl('https://iaas.eu-frankfurt-1.oraclecloud.com')).toBe(false);
  });

  it('backup --oci waits through CREATING until AVAILABLE', async () => {
    const before = t.oci.backups().length;
    // Held CREATING until the poller has seen it twice, so a slow machine cannot skip that state.
    t.oci.faults.holdCreating = true;
    const handle = await start('backup', { oci: true });
    try {
      await eventually(() => {
        const id = t.oci.backups()[before]?.id;
        return id !== undefined && t.oci.statesServed(id).length >= 2;
      }, 120_000, 'two polls of a CREATING backup');
    } finally {
      t.oci.faults.holdCreating = false;
    }
    const r = (await handle.result()) as BackupResult;
    expect(r.oci?.skipped).toBe(false);
    expect(r.oci?.state).toBe('AVAILABLE');
    const made = t.oci.backups().slice(before);
    expect(made).toHaveLength(1);
    expect(made[0]!.id).toBe(r.oci?.backupId);
    // It polled: GETs that saw CREATING, then the one that saw AVAILABLE, and none after it.
    const seen = t.oci.statesServed(r.oci!.backupId!);
    expect(seen.slice(0, -1).length).toBeGreaterThan(0);
    expect(new Set(seen.slice(0, -1))).toEqual(new Set(['CREATING']));
    expect(seen.at(-1)).toBe('AVAILABLE');
  });

  it('a create whose response was lost is retried with the same token: one backup, not two', async () => {
    const before = t.oci.backups().length;
    t.oci.faults.loseCreateResponses = 1;
    const r = (await (await start('backup', { oci: true })).result()) as BackupResult;
    expect(t.oci.faults.loseCreateResponses).toBe(0);
    expect(t.oci.requests.filter((q) => q === 'POST /20160918/volumeBackups').length).toBeGreaterThanOrEqual(3);
    const made = t.oci.backups().slice(before);
    expect(made.map((b) => b.id)).toEqual([r.oci?.backupId]);
    expect(made[0]!.lifecycleState).toBe('AVAILABLE');
  });

  it('the monthly disaster recovery test restores the newest volume backup into a scratch volume, waits for AVAILABLE and terminates it', async () => {
    const { runReport } = await import('../src/reports');
    const { atlasPaths } = await import('../src/paths');
    const { openOpsDb } = await import('../src/db/ops-db');
    await (await start('backup', { oci: true })).result();
    const ops = openOpsDb(atlasPaths(t.home).opsDb);
    try {
      const ctx = { config: t.config, paths: atlasPaths(t.home), ops, now: new Date(), client: t.client };
      const volumesBefore = t.oci.volumes().length;
      const good = await runReport('dr-test', ctx);
      const newest = t.oci.backups().filter((b) => b.lifecycleState === 'AVAILABLE').at(-1)!;
      expect(good.data.oci).toMatchObject({ checked: true, ok: true, newest: { id: newest.id, lifecycleState: 'AVAILABLE' }, restore: { state: 'AVAILABLE', terminated: true } });
      expect(good.data.ok).toBe(true);
      // Through the emulator: one volume made from that backup, polled through PROVISIONING, then terminated.
      const made = t.oci.volumes().slice(volumesBefore);
      expect(made).toHaveLength(1);
      expect(made[0]).toMatchObject({ sourceDetails: { type: 'volumeBackup', id: newest.id }, lifecycleState: 'TERMINATED' });
      const restore = (good.data.oci as { restore: { volumeId: string; restoreMs: number } }).restore;
      expect(restore.volumeId).toBe(made[0]!.id);
      expect(restore.restoreMs).toBeGreaterThanOrEqual(600);
      expect(t.oci.requests).toContain(`DELETE /20160918/volumes/${made[0]!.id}`);
      // A newest backup that is still CREATING cannot be restored from: the test says so and fails.
      t.oci.faults.faultyBackups = 0;
      t.oci.faults.holdCreating = true;
      const backupsBefore = t.oci.backups().length;
      const pending = await start('backup', { oci: true });
      try {
        await eventually(() => t.oci.backups().length > backupsBefore && t.oci.backups().at(-1)?.lifecycleState === 'CREATING', 120_000, 'a CREATING backup');
        const bad = await runReport('dr-test', ctx);
        expect(bad.data.ok).toBe(false);
        expect(JSON.stringify(bad.data.oci)).toMatch(/CREATING: it cannot be restored from/);
      } finally {
        t.oci.faults.holdCreating = false;
      }
      await pending.result();
    } finally {
      ops.close();
    }
  });

  it('a FAULTY backup stops the step for a decision; retry requests a new one', async () => {
    const before = t.oci.backups().length;
    t.oci.faults.faultyBackups = 1;
    const handle = await start('backup', { oci: true });
    const status = await eventually(async () => {
      const s = await handle.query(statusQuery);
      return s.failedStep ? s : undefined;
    }, 120_000, 'failed OCI step');
    expect(status.failedStep!.errorType).toBe('OciBackupFaulty');
    expect(status.failedStep!.error).toMatch(/ended FAULTY; the local backup is unaffected/);
    expect(status.failedStep!.allowed).toContain('skip');
    await handle.executeUpdate(decisionUpdate, { args: [{ decision: 'retry', by: 'test' }] });
    const r = (await handle.result()) as BackupResult;
    expect(r.oci?.state).toBe('AVAILABLE');
    expect(t.oci.backups().slice(before).map((b) => b.lifecycleState)).toEqual(['FAULTY', 'AVAILABLE']);
  });

  it('Option C: after approval, creates a volume from the newest AVAILABLE backup and waits for the swap', async () => {
    const db = path.join(t.home, 'data', 'atlas.db');
    const good = path.join(t.home, 'good-copy.db');
    await takeSnapshot({ source: db, backupsDir: path.join(t.home, 'spare'), reason: 'the volume backup content' }).then((m) => fs.copyFileSync(path.join(t.home, 'spare', m.file), good));
    // No usable local backup: every one is moved away.
    const hidden = path.join(t.home, 'hidden-backups');
    fs.renameSync(path.join(t.home, 'backups'), hidden);
    zeroHeader(db);
    const handle = await start('corruptionRecovery', { allowOci: true, reminderInterval: '1m' });
    await eventually(async () => (await handle.query(statusQuery)).waitingFor?.includes('approval'), 60_000, 'approval wait');
    // While it holds the atlas.db lock, a restore is refused at once, naming it.
    const conflict = await t.client.workflow
      .execute('restore', { taskQueue: t.config.taskQueue, workflowId: `restore-${uid()}`, args: [{ backup: 'atlas_20260101-000000.db' }] })
      .catch((e: unknown) => e);
    const cause = (conflict as { cause?: { type?: string; message: string } }).cause;
    expect(cause?.type).toBe('ProcedureConflict');
    expect(cause?.message).toContain(`corruptionRecovery ${handle.workflowId}`);
    await handle.executeUpdate(approveOciRestoreUpdate, { args: [{ by: 'operator' }] });
    await eventually(async () => (await handle.query(statusQuery)).waitingFor?.includes('swap'), 60_000, 'swap wait');
    // Not the scratch volumes the DR test made (and terminated) above.
    const restored = t.oci.volumes().find((v) => v.sourceDetails?.type === 'volumeBackup' && !v.displayName.startsWith('atlas-dr-test-'));
    expect(restored?.lifecycleState).toBe('AVAILABLE');
    // The approval is refused now that none is awaited.
    const refused = await handle.executeUpdate(approveOciRestoreUpdate, { args: [{ by: 'late' }] }).catch((e: unknown) => e);
    expect((refused as { cause?: Error }).cause?.message).toMatch(/not waiting for an OCI restore approval/);
    // The operator swaps the volume: the file system now shows the volume backup's atlas.db.
    for (const f of fs.readdirSync(path.dirname(db))) if (f.startsWith('atlas.db')) fs.rmSync(path.join(path.dirname(db), f));
    fs.copyFileSync(good, db);
    await handle.signal(attachmentSwappedSignal, { by: 'operator' });
    const r = (await handle.result()) as CorruptionRecoveryResult;
    expect(r.method).toBe('C');
    expect(r.optionC?.volumeId).toBe(restored!.id);
    expect(r.optionC?.approvedBy).toBe('operator');
    expect(r.optionC?.checkAfter?.ok).toBe(true);
    fs.renameSync(hidden, path.join(t.home, 'backups'));
  });
});

describe('an OCI volume id that does not exist', () => {
  const t = useAtlas({ oci: { volumes: [VOLUME], volumeId: 'ocid1.volume.oc1..does-not-exist', availableAfterMs: 100, pollInterval: 100 }, worker: true });

  it('fails the OCI step with a clear error, changes nothing, and the backup can continue without it', async () => {
    const handle = await t.client.workflow.start('backup', { taskQueue: t.config.taskQueue, workflowId: `backup-${uid()}`, args: [{ oci: true }] });
    const status = await eventually(async () => {
      const s = await handle.query(statusQuery);
      return s.failedStep ? s : undefined;
    }, 120_000, 'failed OCI step');
    expect(status.failedStep!.errorType).toBe('OciNotFound');
    expect(status.failedStep!.error).toMatch(/ocid1\.volume\.oc1\.\.does-not-exist/);
    expect(status.failedStep!.error).toMatch(/Nothing was changed/);
    expect(t.oci.backups()).toHaveLength(0);
    await handle.executeUpdate(decisionUpdate, { args: [{ decision: 'skip', by: 'test' }] });
    const r = (await handle.result()) as BackupResult;
    expect(r.outcome).toBe('completed');
    expect(r.oci?.skipped).toBe(true);
    expect(r.backup?.file).toMatch(/^atlas_/);
  });
});

describe('the atlas-oci-backup schedule: ociBackup and its retention', () => {
  const t = useAtlas({ oci: { volumes: [VOLUME], availableAfterMs: 300, pollInterval: 100 }, worker: true });

  const ociBackup = (input: Record<string, unknown>, id = `ociBackup-${uid()}`) =>
    t.client.workflow.execute('ociBackup', { taskQueue: t.config.taskQueue, workflowId: id, args: [input] }) as Promise<OciBackupResult>;
  const state = (id: string) => t.oci.backups().find((b) => b.id === id)?.lifecycleState;
  const deletes = () => t.oci.requests.filter((q) => q.startsWith('DELETE '));

  it('keeps the newest N AVAILABLE backups it made, never one a person made, never one a running procedure names; idempotent', async () => {
    // A backup a person made before an upgrade: not atlas-ops's to delete.
    const manual = await fetch(`${t.oci.url}/20160918/volumeBackups`, { method: 'POST', body: JSON.stringify({ volumeId: VOLUME, displayName: 'before-upgrade' }) }).then((r) => r.json() as Promise<{ id: string }>);
    const r1 = await ociBackup({ keep: 2 });
    const r2 = await ociBackup({ keep: 2 });
    expect(r2.retention).toMatchObject({ keep: 2, kept: [r2.backup!.backupId, r1.backup!.backupId], deleted: [], notOurs: [manual.id] });
    // Its create and its delete each answered 500 once, as when the response is lost: retried, still
    // one backup made and one deleted, and reported as deleted.
    t.oci.faults.loseCreateResponses = 1;
    t.oci.faults.loseDeleteResponses = 1;
    const before = t.oci.backups().length;
    const r3 = await ociBackup({ keep: 2 });
    expect(t.oci.faults).toMatchObject({ loseCreateResponses: 0, loseDeleteResponses: 0 });
    expect(t.oci.backups().length).toBe(before + 1);
    expect(r3.backup).toMatchObject({ state: 'AVAILABLE', displayName: expect.stringMatching(/^atlas-oci-backup-\d{8}-\d{6}$/) });
    expect(r3.retention).toMatchObject({ kept: [r3.backup!.backupId, r2.backup!.backupId], deleted: [r1.backup!.backupId], inUse: [] });
    expect(state(r1.backup!.backupId)).toBe('TERMINATED');
    expect(state(manual.id)).toBe('AVAILABLE');
    // One DELETE: the retried attempt knew from its heartbeat that the lost one had been made.
    expect(deletes()).toEqual([`DELETE /20160918/volumeBackups/${r1.backup!.backupId}`]);

    // A running procedure names r2's backup (here, in its reason): keep 1 would delete it, and does not.
    const holder = `maintenance-${uid()}`;
    await t.client.workflow.start('maintenance', { taskQueue: t.config.taskQueue, workflowId: holder, args: [{ reason: `restore test from ${r2.backup!.backupId}` }] });
    try {
      await eventually(async () => (await t.client.workflow.getHandle(holder).query(statusQuery)).phase === 'edit', 60_000, 'maintenance editing');
      const r4 = await ociBackup({ keep: 1 });
      expect(r4.retention).toMatchObject({ keep: 1, kept: [r4.backup!.backupId], inUse: [r2.backup!.backupId], deleted: [r3.backup!.backupId] });
      expect(state(r2.backup!.backupId)).toBe('AVAILABLE');
      expect(state(r4.backup!.backupId)).toBe('AVAILABLE');
    } finally {
      await t.client.workflow.getHandle(holder).signal(abortSignal, { by: 'test' });
      await t.client.workflow.getHandle(holder).result().catch(() => undefined);
    }
  });

  it("an operator's retry after a FAULTY backup asks OCI for a new one (a new retry token), not the FAULTY one again", async () => {
    // The name is the same on every attempt of this workflow: only the attempt in the key can tell them apart.
    const before = t.oci.backups().length;
    t.oci.faults.faultyBackups = 1;
    const handle = await t.client.workflow.start('ociBackup', { taskQueue: t.config.taskQueue, workflowId: `ociBackup-${uid()}`, args: [{ keep: 10 }] });
    const failed = await eventually(async () => (await handle.query(statusQuery)).failedStep, 120_000, 'the FAULTY step');
    expect(failed.errorType).toBe('OciBackupFaulty');
    await handle.executeUpdate(decisionUpdate, { args: [{ decision: 'retry', by: 'test' }] });
    const r = (await handle.result()) as OciBackupResult;
    const made = t.oci.backups().slice(before);
    expect(made.map((b) => [b.displayName, b.lifecycleState])).toEqual([
      [r.backup!.displayName, 'FAULTY'],
      [r.backup!.displayName, 'AVAILABLE'],
    ]);
    expect(r.backup!.backupId).toBe(made[1]!.id);
  });

  it('a retention of 0 is refused naming the value, before any backup is taken or deleted', async () => {
    const before = t.oci.requests.length;
    const err = await ociBackup({ keep: 0 }).then(() => undefined, (e: unknown) => e);
    expect(((err as WorkflowFailedError).cause as ApplicationFailure).type).toBe('InvalidInput');
    expect(((err as WorkflowFailedError).cause as ApplicationFailure).message).toMatch(/^keep: expected a whole number of at least 1, got 0/);
    expect(t.oci.requests.length).toBe(before);
    // The configuration refuses it too, naming the field and the value.
    expect(() => loadConfig({ env: { ATLAS_HOME: t.home, ATLAS_OCI_KEEP_BACKUPS: '0' } })).toThrow(/oci\.keepBackups.*0/);
  });

  it('the schedule is weekly by default, configurable, and not created while no volume is configured', async () => {
    const types = new Set(['ociBackup']);
    const only = (r: ApplyResult) => ({ created: r.created.filter((id) => id.endsWith('oci-backup')), skipped: r.skipped.filter((s) => s.id.endsWith('oci-backup')) });
    const id = `${t.config.scheduleIdPrefix}oci-backup`;
    try {
      expect(only(await applySchedules(t.client, { ...t.config, oci: { ...t.config.oci, volumeId: '' } }, types))).toEqual({ created: [], skipped: [{ id, reason: 'oci.volumeId is not set (no volume to back up)' }] });
      expect(only(await applySchedules(t.client, t.config, types)).created).toEqual([id]);
      const d = await t.client.schedule.getHandle(id).describe();
      expect((d.action as { workflowType: string }).workflowType).toBe('ociBackup');
      expect(d.info.nextActionTimes[0]!.getUTCDay()).toBe(0);
      expect(d.info.nextActionTimes[0]!.getUTCHours()).toBe(3);
      const daily = loadConfig({ env: { ATLAS_HOME: t.home, ATLAS_SCHEDULE_OCI_BACKUP: '30 4 * * *' } });
      await applySchedules(t.client, { ...t.config, schedules: { ...t.config.schedules, ociBackup: daily.schedules.ociBackup } }, types);
      expect((await t.client.schedule.getHandle(id).describe()).info.nextActionTimes[0]!.getUTCMinutes()).toBe(30);
    } finally {
      await t.client.schedule.getHandle(id).delete().catch(() => undefined);
    }
  });
});
