// Fault suite, corruption recovery Option C (docs/safety.md#durable-progress): the worker is SIGKILLed
// at each step of Option C (list the OCI volume backups, create a volume from one, check after the
// swap) and while the procedure waits for the operator's approval and for the volume swap (killed
// from outside, started again, then the approval or the swap is sent). Before C, Option A keeps a
// copy of the damaged files and Option B finds no good backup. A fresh worker takes over; the
// procedure completes with each effect once: one volume created from the OCI backup, the evidence
// kept byte for byte, no backup deleted, no flag, no lock, schedules unpaused.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import { atlasPaths, type AtlasPaths } from '../../src/paths';
import { listBackups, takeSnapshot } from '../../src/db/snapshot';
import { openDatabase } from '../../src/db/sqlite';
import { startOciEmulator, type OciEmulator } from '../../src/oci-emulator/server';
import { statusQuery } from '../../workflows/lib/procedure';
import { approveOciRestoreUpdate, attachmentSwappedSignal, type CorruptionRecoveryResult } from '../../workflows/corruption-recovery';
import { startAtlas } from '../helpers/atlas';
import { createSchedules, eventually } from '../helpers/env';
import { garbageOverPages, leaveCommitsInWal } from '../helpers/corrupt';
import { fakeHost } from '../helpers/fake-host';
import { faultWorker } from './checks';
import { evidenceLost, expectEvidenceKeptOnce, expectReleasedOnce, expectSound, filesNow, SCHEDULES, startRecovery } from './recovery-checks';
import { recordFault } from './report';

const VOLUME = 'ocid1.volume.oc1.emulator.atlas-home';

/** An AVAILABLE backup of the Atlas volume in the emulator, as the nightly `backup --oci` leaves. */
async function seedVolumeBackup(emu: OciEmulator): Promise<string> {
  const res = await fetch(`${emu.url}/20160918/volumeBackups`, { method: 'POST', body: JSON.stringify({ volumeId: VOLUME, displayName: 'atlas-nightly' }) });
  const { id } = (await res.json()) as { id: string };
  await eventually(() => emu.backups().find((b) => b.id === id)?.lifecycleState === 'AVAILABLE', 30_000, 'the OCI volume backup');
  return id;
}

/**
 * The operator's swap: the restored volume is mounted at the Atlas home, so data/ now shows the
 * volume backup's atlas.db. (The old volume, with the damaged files and the copies Option A kept,
 * is detached and kept; here those copies stay in data/ so the test can look at them.)
 */
function swapInVolume(paths: AtlasPaths, volumeDb: string): void {
  for (const s of ['', '-wal', '-shm']) fs.rmSync(`${paths.atlasDb}${s}`, { force: true });
  fs.copyFileSync(volumeDb, paths.atlasDb);
}

const waitingFor = (handle: WorkflowHandle, what: string) =>
  eventually(async () => (await handle.query(statusQuery)).waitingFor?.includes(what), 120_000, `the wait for ${what}`);

/**
 * Option C's kill points. Killed from outside: "approval" and "swap" while the procedure waits for
 * them, "provisioning" as soon as the emulator has the request to create the volume (held
 * PROVISIONING by the emulator's switch until then, while the activity polls it).
 */
const C_POINTS = [
  'ociListVolumeBackups:before',
  'ociListVolumeBackups:after',
  'approval',
  'ociRestoreVolume:before',
  'provisioning',
  'ociRestoreVolume:after',
  'swap',
  'checkAtlasDb#3:before',
  'checkAtlasDb#3:after',
];
/** Points at which the first worker is dead by the time the procedure waits for approval, for the swap. */
const DEAD_BY_APPROVAL = /^(ociListVolumeBackups|approval)/;
const DEAD_BY_SWAP = /^(ociRestoreVolume|provisioning|swap)/;
const CREATE_VOLUME = 'POST /20160918/volumes';

describe.concurrent('corruptionRecovery (Option C) under SIGKILL', { timeout: 240_000 }, () => {
  for (const point of C_POINTS) {
    it(`creates one volume from the OCI backup and keeps the evidence when the worker dies at ${point}`, async () => {
      const emu = await startOciEmulator({ availableAfterMs: 2000, volumes: [{ id: VOLUME }] });
      const t = await startAtlas();
      const paths = atlasPaths(t.home);
      const ociEnv = { ATLAS_OCI_ENDPOINT: emu.url, ATLAS_OCI_VOLUME_ID: VOLUME, ATLAS_OCI_POLL_INTERVAL: '150ms' };
      const volumeBackup = await seedVolumeBackup(emu);
      // The state the volume backup holds; the only local backup is damaged, so Option B finds none.
      const local = await takeSnapshot({ source: paths.atlasDb, backupsDir: paths.backupsDir, reason: 'fault baseline' });
      const volumeDb = path.join(t.home, 'volume-backup.db');
      fs.copyFileSync(path.join(paths.backupsDir, local.file), volumeDb);
      garbageOverPages(path.join(paths.backupsDir, local.file));
      const backupsBefore = listBackups(paths.backupsDir).map((b) => b.name);
      // A WAL beside a damaged main file: Option A runs, keeps the files, and cannot mend them.
      leaveCommitsInWal(paths.atlasDb, 3);
      garbageOverPages(paths.atlasDb);
      const before = filesNow(paths);
      await createSchedules(t, SCHEDULES);
      const fromOutside = ['approval', 'provisioning', 'swap'].includes(point);
      const worker = faultWorker(t, ociEnv, fromOutside ? undefined : point);
      let survived = false;
      let dataLost = 0;
      try {
        const handle = await startRecovery(t, point, true);
        await waitingFor(handle, 'approval');
        if (point === 'approval') worker.kill();
        if (DEAD_BY_APPROVAL.test(point)) {
          await worker.restarted(point);
          // The fresh worker has the procedure before the approval is sent.
          await waitingFor(handle, 'approval');
        }
        // Held PROVISIONING until the worker is dead: its 2 s were a window a loaded machine could
        // miss (the kill after AVAILABLE, the activity already done).
        if (point === 'provisioning') emu.faults.holdProvisioning = true;
        await handle.executeUpdate(approveOciRestoreUpdate, { args: [{ by: 'fault-suite' }] });
        if (point === 'provisioning') {
          try {
            await eventually(() => emu.requests.includes(CREATE_VOLUME), 60_000, 'the request to create the volume');
            worker.kill();
            await worker.restarted(point);
            expect(emu.volumes().map((v) => v.lifecycleState)).toContain('PROVISIONING');
          } finally {
            emu.faults.holdProvisioning = false;
          }
        }
        await waitingFor(handle, 'swap');
        if (point === 'swap') worker.kill();
        if (DEAD_BY_SWAP.test(point)) {
          await worker.restarted(point);
          await waitingFor(handle, 'swap');
        }
        swapInVolume(paths, volumeDb);
        await handle.signal(attachmentSwappedSignal, { by: 'fault-suite' });
        await worker.restarted(point);
        const r = (await handle.result()) as CorruptionRecoveryResult;

        expect(r.outcome).toBe('completed');
        expect(r.method).toBe('C');
        expect(r.optionB?.restoredFrom).toBeUndefined();
        expect(r.optionC).toMatchObject({ backupId: volumeBackup, approvedBy: 'fault-suite', swappedBy: 'fault-suite', checkAfter: { ok: true } });
        // One volume created from the backup, however often its creation was sent (a retry sends
        // it again, with the same opc-retry-token); the backup itself untouched.
        if (/^(provisioning|ociRestoreVolume:after)/.test(point)) expect(emu.requests.filter((q) => q === CREATE_VOLUME).length).toBeGreaterThanOrEqual(2);
        const restored = emu.volumes().filter((v) => v.sourceDetails?.type === 'volumeBackup');
        expect(restored.map((v) => [v.id, v.sourceDetails?.id, v.lifecycleState])).toEqual([[r.optionC?.volumeId, volumeBackup, 'AVAILABLE']]);
        expect(emu.backups().map((b) => [b.id, b.lifecycleState])).toEqual([[volumeBackup, 'AVAILABLE']]);
        expectSound(paths);
        expectEvidenceKeptOnce(paths, before, r);
        expect(listBackups(paths.backupsDir).map((b) => b.name)).toEqual(backupsBefore);
        await expectReleasedOnce(t, r);
        survived = true;
      } catch (err) {
        // Data lost: the kept copy, a local backup, the OCI volume backup.
        dataLost = evidenceLost(paths, before) + backupsBefore.filter((b) => !fs.existsSync(path.join(paths.backupsDir, b))).length;
        dataLost += emu.backups().some((b) => b.id === volumeBackup) ? 0 : 1;
        throw err;
      } finally {
        recordFault({ fault: `corruptionRecovery C: SIGKILL ${point}`, survived, dataLost });
        worker.stop();
        await t.cleanup();
        await emu.close();
      }
    });
  }
});

// Option C without a person (oci.instanceId set): the worker SIGKILLed before and after each step of
// the volume swap, and from outside while the procedure waits for DETACHED (held by the emulator).
// The data volume is mounted at data/ on a stand-in host (test/helpers/fake-host.ts). Each effect
// once: one detach, one attach, one unmount, one mount, ops.db's row written after the volume backup
// kept, the stash retired, everything released.
const INSTANCE = 'ocid1.instance.oc1.emulator.atlas-vm';
const DEVICE = '/dev/oracleoci/oraclevdb';
const UUID = '5e2b1c44-0d7a-4f1e-8c3b-9a8f7e6d5c4b';
const MARKER = 'written to ops.db after the volume backup was taken';
const SWAP_STEPS = ['ociSwapPlan', 'stashVolumeState', 'unmountDataVolume', 'ociDetachVolume', 'ociWaitForAttachment', 'ociAttachVolume', 'ociWaitForAttachment#2', 'mountRestoredVolume', 'unstashVolumeState'];
const SWAP_POINTS = [...SWAP_STEPS.flatMap((s) => [`${s}:before`, `${s}:after`]), 'detaching'];

const markerRows = (opsDb: string) => {
  const db = openDatabase(opsDb, { readonly: true });
  try {
    return db.prepare('SELECT count(*) FROM procedure_log WHERE message = ?').pluck().get(MARKER) as number;
  } finally {
    db.close();
  }
};

describe.concurrent('corruptionRecovery (Option C, the volume swap) under SIGKILL', { timeout: 300_000 }, () => {
  for (const point of SWAP_POINTS) {
    it(`detaches, attaches and mounts once and keeps ops.db when the worker dies at ${point}`, async () => {
      const host = fakeHost();
      const stash = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-swap-stash-'));
      const ref: { emu?: OciEmulator } = {};
      const emu = (ref.emu = await startOciEmulator({
        availableAfterMs: 1000,
        volumes: [{ id: VOLUME }],
        instances: [{ id: INSTANCE }],
        attachments: [{ volumeId: VOLUME, instanceId: INSTANCE, device: DEVICE }],
        onAttachmentChange: (a) => host.onAttachment(a, (id) => ref.emu?.volumes().find((v) => v.id === id)?.sourceDetails?.id),
      }));
      const t = await startAtlas();
      const paths = atlasPaths(t.home);
      host.mounted(VOLUME, UUID, paths.dataDir, DEVICE);
      const env = {
        ATLAS_OCI_ENDPOINT: emu.url,
        ATLAS_OCI_VOLUME_ID: VOLUME,
        ATLAS_OCI_POLL_INTERVAL: '150ms',
        ATLAS_OCI_INSTANCE_ID: INSTANCE,
        ATLAS_OCI_MOUNT_POINT: paths.dataDir,
        ATLAS_OCI_SWAP_STASH: stash,
        PATH: `${host.bin}${path.delimiter}${process.env.PATH}`,
      };
      const volumeBackup = await seedVolumeBackup(emu);
      // The volume backup holds data/ as it is now, sound; the only local backup is damaged after it.
      const local = await takeSnapshot({ source: paths.atlasDb, backupsDir: paths.backupsDir, reason: 'fault baseline' });
      const content = path.join(t.home, 'volume-backup');
      fs.cpSync(paths.dataDir, content, { recursive: true });
      fs.copyFileSync(path.join(paths.backupsDir, local.file), path.join(content, 'atlas.db'));
      for (const s of ['-wal', '-shm']) fs.rmSync(path.join(content, `atlas.db${s}`), { force: true });
      host.backupHolds(volumeBackup, content, UUID);
      garbageOverPages(path.join(paths.backupsDir, local.file));
      const backupsBefore = listBackups(paths.backupsDir).map((b) => b.name);
      const ops = openDatabase(paths.opsDb);
      ops.prepare("INSERT INTO procedure_log (at, workflow_id, procedure, step, message) VALUES ('2026-11-30T00:00:00Z', 'marker', 'test', 'marker', ?)").run(MARKER);
      ops.close();
      leaveCommitsInWal(paths.atlasDb, 3);
      garbageOverPages(paths.atlasDb);
      const before = filesNow(paths);
      await createSchedules(t, SCHEDULES);
      const worker = faultWorker(t, env, point === 'detaching' ? undefined : point);
      let survived = false;
      let dataLost = 0;
      try {
        const handle = await startRecovery(t, point, true);
        await waitingFor(handle, 'approval');
        if (point === 'detaching') emu.faults.holdAttachments = true;
        await handle.executeUpdate(approveOciRestoreUpdate, { args: [{ by: 'fault-suite' }] });
        if (point === 'detaching') {
          await waitingFor(handle, 'DETACHED');
          worker.kill();
        }
        await worker.restarted(point);
        emu.faults.holdAttachments = false;
        const r = (await handle.result()) as CorruptionRecoveryResult;

        expect(r.outcome).toBe('completed');
        expect(r.method).toBe('C');
        const restored = emu.volumes().filter((v) => v.sourceDetails?.type === 'volumeBackup');
        expect(restored.map((v) => v.id)).toEqual([r.optionC?.volumeId]);
        const [old] = emu.attachments();
        expect(r.optionC?.swap).toMatchObject({ instanceId: INSTANCE, detached: old!.id, device: DEVICE, uuid: UUID, mountPoint: paths.dataDir });
        // One detach, one attach, however often each step ran.
        expect(emu.requests.filter((q) => q.startsWith('DELETE /20160918/volumeAttachments/'))).toHaveLength(1);
        expect(emu.requests.filter((q) => q === 'POST /20160918/volumeAttachments')).toHaveLength(1);
        expect(emu.attachments().map((a) => [a.volumeId, a.lifecycleState])).toEqual([[VOLUME, 'DETACHED'], [r.optionC?.volumeId, 'ATTACHED']]);
        expect(host.calls().filter((c) => /^u?mount /.test(c))).toEqual([`umount ${paths.dataDir}`, `mount UUID=${UUID} ${paths.dataDir}`]);
        expect(host.mountedAt(paths.dataDir)).toBe(r.optionC?.volumeId);
        // Only atlas.db rolled back: ops.db's later row, Option A's evidence and the local backups are kept.
        expectSound(paths);
        expect(markerRows(paths.opsDb)).toBe(1);
        expectEvidenceKeptOnce(paths, before, r);
        expect(listBackups(paths.backupsDir).map((b) => b.name)).toEqual(backupsBefore);
        expect(fs.readdirSync(stash)).toEqual([]);
        expect(emu.backups().map((b) => [b.id, b.lifecycleState])).toEqual([[volumeBackup, 'AVAILABLE']]);
        await expectReleasedOnce(t, r);
        survived = true;
      } catch (err) {
        // Data lost: ops.db's row, the kept copy, a local backup, the OCI volume backup.
        const opsDb = fs.existsSync(paths.opsDb) ? paths.opsDb : undefined;
        dataLost = (opsDb && markerRows(opsDb) === 1 ? 0 : 1) + evidenceLost(paths, before) + backupsBefore.filter((b) => !fs.existsSync(path.join(paths.backupsDir, b))).length;
        dataLost += emu.backups().some((b) => b.id === volumeBackup) ? 0 : 1;
        throw err;
      } finally {
        recordFault({ fault: `corruptionRecovery C swap: SIGKILL ${point}`, survived, dataLost });
        worker.stop();
        await t.cleanup();
        await emu.close();
        host.remove();
        fs.rmSync(stash, { recursive: true, force: true });
      }
    });
  }
});
