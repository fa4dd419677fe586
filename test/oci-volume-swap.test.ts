// Option C end to end without a person (docs/procedures.md#option-c-the-volume-swap): the real
// oci-core ComputeClient against the emulator's instances and attachments, and a stand-in host whose
// mount, umount, mountpoint and lsblk act on directories (test/helpers/fake-host.ts). The data volume
// is detached (DETACHING → DETACHED), the restored one attached (ATTACHING → ATTACHED) and mounted by
// UUID, atlas.db checked on it, and what atlas-ops owns carried across: only atlas.db rolls back.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { OciError } from 'oci-common';
import { statusQuery } from '../workflows/lib/procedure';
import { approveOciRestoreUpdate, type CorruptionRecoveryResult } from '../workflows/corruption-recovery';
import { computeClient } from '../src/oci/compute';
import { loadConfig } from '../src/config';
import { atlasPaths } from '../src/paths';
import { listBackups, takeSnapshot } from '../src/db/snapshot';
import { integrityProblems, openDatabase } from '../src/db/sqlite';
import { activeOpsDb, stashDir } from '../src/volume-swap';
import { startAtlas, type Atlas } from './helpers/atlas';
import { eventually, uid } from './helpers/env';
import { garbageOverPages, zeroHeader } from './helpers/corrupt';
import { fakeHost, type FakeHost } from './helpers/fake-host';
import { recordingSystemctl } from './helpers/holders';
import { expectDbHoldReleased } from './faults/checks';

const VOLUME = 'ocid1.volume.oc1.emulator.atlas-home';
const INSTANCE = 'ocid1.instance.oc1.emulator.atlas-vm';
const OTHER = 'ocid1.instance.oc1.emulator.other-vm';
const DEVICE = '/dev/oracleoci/oraclevdb';
const UUID = '0f3c6a2e-5b1d-4c4c-9e9e-0123456789ab';
const MARKER = 'written to ops.db after the volume backup was taken';

const savedPath = process.env.PATH;

/** The changes the emulator made to attachments, in order, as "volume state". */
type Transitions = string[];

interface SwapAtlas {
  t: Atlas;
  host: FakeHost;
  systemctl: ReturnType<typeof recordingSystemctl>;
  transitions: Transitions;
  stash: string;
  /** The OCI volume backup, AVAILABLE, holding the home as it was with a sound atlas.db. */
  backupId: string;
}

/**
 * An Atlas whose home is the data volume's mount point (VOLUME attached to `attachedTo` at DEVICE,
 * mounted), an OCI backup of it taken while atlas.db was sound, then atlas.db damaged, and a local
 * backup taken after the volume backup that no longer passes (so B fails and C is offered).
 */
async function swapAtlas(attachedTo = INSTANCE, overrides: Record<string, string> = {}): Promise<SwapAtlas> {
  const transitions: Transitions = [];
  const stash = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-swap-stash-'));
  const host = fakeHost();
  const systemctl = recordingSystemctl();
  // The in-process worker's command runner reads PATH at call time.
  process.env.PATH = `${host.bin}${path.delimiter}${systemctl.bin}${path.delimiter}${savedPath}`;
  // The emulator's callback asks the Atlas that starts it.
  const ref: { t?: Atlas } = {};
  const t = await startAtlas({
    oci: {
      volumes: [VOLUME],
      availableAfterMs: 200,
      pollInterval: 100,
      instances: [{ id: INSTANCE }, { id: OTHER }],
      attachments: [{ volumeId: VOLUME, instanceId: attachedTo, device: DEVICE }],
      onAttachmentChange: (a) => {
        transitions.push(`${a.volumeId === VOLUME ? 'data' : 'restored'} ${a.lifecycleState}`);
        host.onAttachment(a, (id) => ref.t?.oci.volumes().find((v) => v.id === id)?.sourceDetails?.id);
      },
    },
    overrides: { 'oci.instanceId': INSTANCE, 'oci.swapStashDir': stash, ...overrides },
    prepare: (a) => host.mounted(VOLUME, UUID, a.home, DEVICE),
    worker: true,
  });
  ref.t = t;
  t.defer(() => {
    process.env.PATH = savedPath;
    host.remove();
    systemctl.remove();
    fs.rmSync(stash, { recursive: true, force: true });
  });
  const paths = atlasPaths(t.home);
  // The volume backup: the home as it is now (a sound atlas.db, ops.db as it was then).
  const created = await fetch(`${t.oci.url}/20160918/volumeBackups`, { method: 'POST', body: JSON.stringify({ volumeId: VOLUME, displayName: 'atlas-nightly' }) });
  const { id: backupId } = (await created.json()) as { id: string };
  await eventually(() => t.oci.backups().find((b) => b.id === backupId)?.lifecycleState === 'AVAILABLE', 30_000, 'the OCI volume backup');
  const content = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-volume-backup-'));
  t.defer(() => fs.rmSync(content, { recursive: true, force: true }));
  fs.cpSync(t.home, content, { recursive: true });
  host.backupHolds(backupId, content, UUID);
  // After the backup: a row in ops.db, and a local backup that is then damaged.
  const ops = openDatabase(paths.opsDb);
  ops.prepare("INSERT INTO procedure_log (at, workflow_id, procedure, step, message) VALUES ('2026-11-30T00:00:00Z', 'marker', 'test', 'marker', ?)").run(MARKER);
  ops.close();
  const local = await takeSnapshot({ source: paths.atlasDb, backupsDir: paths.backupsDir, reason: 'after the volume backup' });
  garbageOverPages(path.join(paths.backupsDir, local.file));
  zeroHeader(paths.atlasDb);
  return { t, host, systemctl, transitions, stash, backupId };
}

const startRecovery = (t: Atlas) =>
  t.client.workflow.start('corruptionRecovery', { taskQueue: t.config.taskQueue, workflowId: `corruptionRecovery-${uid()}`, args: [{ allowOci: true, trigger: 'test', reminderInterval: '1m' }] });

function markerRows(opsDb: string): number {
  const db = openDatabase(opsDb, { readonly: true });
  try {
    return db.prepare('SELECT count(*) FROM procedure_log WHERE message = ?').pluck().get(MARKER) as number;
  } finally {
    db.close();
  }
}

describe('Option C swaps the volume itself when oci.instanceId is set', () => {
  it('detaches the data volume, attaches and mounts the restored one by UUID, checks atlas.db, and keeps ops.db and backups/', async () => {
    const { t, host, systemctl, transitions, stash, backupId } = await swapAtlas();
    try {
      const paths = atlasPaths(t.home);
      const backupsBefore = listBackups(paths.backupsDir).map((b) => b.name);
      const handle = await startRecovery(t);
      await eventually(async () => (await handle.query(statusQuery)).waitingFor?.includes('approval'), 60_000, 'approval wait');
      const [old] = t.oci.attachments();
      // The detach is held: the procedure waits for DETACHED, with the volume unmounted and ops.db in the stash.
      t.oci.faults.holdAttachments = true;
      await handle.executeUpdate(approveOciRestoreUpdate, { args: [{ by: 'operator' }] });
      await eventually(async () => (await handle.query(statusQuery)).waitingFor?.includes('DETACHED'), 60_000, 'the wait for DETACHED');
      expect(t.oci.attachments().find((a) => a.id === old!.id)?.lifecycleState).toBe('DETACHING');
      expect(host.mountedAt(t.home)).toBeUndefined();
      expect(fs.existsSync(paths.atlasDb)).toBe(false);
      expect(activeOpsDb(t.config, paths)).toBe(path.join(stashDir(t.config), 'files', 'data', 'ops.db'));
      expect(markerRows(activeOpsDb(t.config, paths))).toBe(1);
      t.oci.faults.holdAttachments = false;
      const r = (await handle.result()) as CorruptionRecoveryResult;

      expect(r.method).toBe('C');
      expect(r.optionC?.checkAfter?.ok).toBe(true);
      const restored = t.oci.volumes().find((v) => v.sourceDetails?.id === backupId)!;
      expect(r.optionC).toMatchObject({ backupId, volumeId: restored.id, approvedBy: 'operator', swap: { instanceId: INSTANCE, detached: old!.id, device: DEVICE, uuid: UUID, mountPoint: t.home } });
      expect(r.optionC?.swappedBy).toBeUndefined();
      // Through the emulator: each transition once, in order; one attach request.
      expect(transitions).toEqual(['data DETACHING', 'data DETACHED', 'restored ATTACHING', 'restored ATTACHED']);
      expect(t.oci.requests.filter((q) => q === 'POST /20160918/volumeAttachments')).toHaveLength(1);
      expect(t.oci.attachments().map((a) => [a.volumeId, a.instanceId, a.device, a.lifecycleState])).toEqual([
        [VOLUME, INSTANCE, DEVICE, 'DETACHED'],
        [restored.id, INSTANCE, DEVICE, 'ATTACHED'],
      ]);
      // On the host: unmounted, mounted by UUID; the restored volume is the one at the mount point now.
      expect(host.calls().filter((c) => /^(u?mount) /.test(c))).toEqual([`umount ${t.home}`, `mount UUID=${UUID} ${t.home}`]);
      expect(host.mountedAt(t.home)).toBe(restored.id);
      const db = openDatabase(paths.atlasDb, { readonly: true });
      expect(integrityProblems(db)).toEqual([]);
      expect(db.prepare('SELECT count(*) FROM tasks').pluck().get()).toBeGreaterThan(0);
      db.close();
      // Only atlas.db rolled back: ops.db has the row written after the backup and this recovery's
      // records (those made while the volume was away too); backups/ has the local backup made after it.
      expect(markerRows(paths.opsDb)).toBe(1);
      const ops = openDatabase(paths.opsDb, { readonly: true });
      const records = ops.prepare('SELECT message FROM procedure_log WHERE workflow_id = ?').pluck().all(r.workflowId) as string[];
      ops.close();
      expect(records.some((m) => m.startsWith('detached the data volume'))).toBe(true);
      expect(records.some((m) => m.startsWith(`attached ${restored.id} at ${DEVICE}`))).toBe(true);
      expect(listBackups(paths.backupsDir).map((b) => b.name)).toEqual(backupsBefore);
      // The old volume, detached, still holds the damaged atlas.db (kept as evidence); the stash is gone.
      expect(fs.readFileSync(path.join(host.volumeFiles(VOLUME), 'data', 'atlas.db')).subarray(0, 16).every((b) => b === 0)).toBe(true);
      expect(fs.readdirSync(stash)).toEqual([]);
      expect(activeOpsDb(t.config, paths)).toBe(paths.opsDb);
      // The app units were stopped before the unmount and started again after.
      expect(systemctl.calls().filter((c) => c.endsWith('atlas-agent.service') && !c.startsWith('is-active'))).toEqual(['stop atlas-agent.service', 'start atlas-agent.service']);
      expectDbHoldReleased(t);
    } finally {
      await t.cleanup();
    }
  });

  const refused = async (handle: Awaited<ReturnType<typeof startRecovery>>) => {
    const err = await handle.result().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    return (err as WorkflowFailedError).cause as ApplicationFailure;
  };

  /** Nothing swapped: the data volume attached and mounted as before, atlas.db and ops.db where they were. */
  function expectNothingSwapped({ t, host, stash }: SwapAtlas): void {
    expect(t.oci.requests.filter((q) => /^(POST|DELETE) \/20160918\/volumeAttachments/.test(q))).toEqual([]);
    expect(host.mountedAt(t.home)).toBe(VOLUME);
    const paths = atlasPaths(t.home);
    expect(fs.readFileSync(paths.atlasDb).subarray(0, 16).every((b) => b === 0)).toBe(true);
    expect(markerRows(paths.opsDb)).toBe(1);
    expect(fs.readdirSync(stash)).toEqual([]);
  }

  it('refuses an attachment of the data volume for another instance, naming it; nothing is swapped', async () => {
    const a = await swapAtlas(OTHER);
    const { t } = a;
    try {
      const [att] = t.oci.attachments();
      const handle = await startRecovery(t);
      await eventually(async () => (await handle.query(statusQuery)).waitingFor?.includes('approval'), 60_000, 'approval wait');
      await handle.executeUpdate(approveOciRestoreUpdate, { args: [{ by: 'operator' }] });
      const cause = await refused(handle);
      expect(cause.type).toBe('VolumeSwapRefused');
      expect(cause.message).toContain(`attachment ${att!.id} of the data volume ${VOLUME} is for instance ${OTHER}, not oci.instanceId ${INSTANCE}`);
      expect(cause.message).toMatch(/Nothing was swapped/);
      expectNothingSwapped(a);
    } finally {
      await t.cleanup();
    }
  });

  it('refuses a restored volume still attached elsewhere, naming it; nothing is swapped', async () => {
    const a = await swapAtlas();
    const { t } = a;
    try {
      const handle = await startRecovery(t);
      await eventually(async () => (await handle.query(statusQuery)).waitingFor?.includes('approval'), 60_000, 'approval wait');
      // The restored volume stays PROVISIONING until someone else has attached it.
      t.oci.faults.holdProvisioning = true;
      await handle.executeUpdate(approveOciRestoreUpdate, { args: [{ by: 'operator' }] });
      const restored = await eventually(() => t.oci.volumes().find((v) => v.sourceDetails?.type === 'volumeBackup'), 60_000, 'the restored volume');
      const foreign = t.oci.seedAttachment(restored.id, OTHER, '/dev/oracleoci/oraclevdc');
      t.oci.faults.holdProvisioning = false;
      const cause = await refused(handle);
      expect(cause.type).toBe('VolumeSwapRefused');
      expect(cause.message).toContain(`the restored volume ${restored.id} is still attached (ATTACHED) to instance ${OTHER} by attachment ${foreign.id}`);
      expectNothingSwapped(a);
    } finally {
      await t.cleanup();
    }
  });
});

describe('a volume that is not DETACHED in time', () => {
  it('pages after oci.attachPageAfter, then ends at oci.attachTimeout saying where things are and what to do next', async () => {
    const { t, host, systemctl, stash } = await swapAtlas(INSTANCE, { 'oci.attachPageAfter': '1s', 'oci.attachTimeout': '3s' });
    try {
      const paths = atlasPaths(t.home);
      const handle = await startRecovery(t);
      await eventually(async () => (await handle.query(statusQuery)).waitingFor?.includes('approval'), 60_000, 'approval wait');
      t.oci.faults.holdAttachments = true;
      await handle.executeUpdate(approveOciRestoreUpdate, { args: [{ by: 'operator' }] });
      const err = await handle.result().then(() => undefined, (e: unknown) => e);
      const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
      expect(cause.type).toBe('VolumeAttachTimeout');
      const [old] = t.oci.attachments();
      expect(cause.message).toContain(`the data volume's attachment ${old!.id} is still DETACHING after 3s: corruption recovery ends here`);
      expect(cause.message).toContain(`The swap stopped at: detaching the data volume (attachment ${old!.id})`);
      expect(cause.message).toContain(`copy ${stashDir(t.config)}/files/ over the mount point`);
      // The page, in the ops.db atlas-ops uses meanwhile (the stash's): critical, then resolved.
      const ops = openDatabase(activeOpsDb(t.config, paths), { readonly: true });
      const page = ops.prepare('SELECT level, message, resolved_at FROM alerts WHERE code = ?').get(`corruption-oci-detached:${handle.workflowId}`) as { level: string; message: string; resolved_at: string | null } | undefined;
      ops.close();
      expect(page).toMatchObject({ level: 'critical', resolved_at: expect.any(String), message: expect.stringMatching(/^page: corruptionRecovery .* has waited 1s for the data volume's attachment .* to be DETACHED \(it is DETACHING\)$/) });
      // The safe state: nothing attached or mounted in its place, the app not started, the stash kept.
      expect(t.oci.requests.filter((q) => q === 'POST /20160918/volumeAttachments')).toEqual([]);
      expect(host.mountedAt(t.home)).toBeUndefined();
      expect(systemctl.calls().filter((c) => c.startsWith('start '))).toEqual([]);
      expect(fs.readdirSync(path.join(stashDir(t.config), 'files')).sort()).toContain('backups');
      expect(markerRows(activeOpsDb(t.config, paths))).toBe(1);
      expect(fs.readdirSync(stash)).not.toEqual([]);
    } finally {
      t.oci.faults.holdAttachments = false;
      await t.cleanup();
    }
  });
});

describe('the emulator serves instances and attachments to the real ComputeClient', () => {
  it('DETACHING → DETACHED and ATTACHING → ATTACHED only once the hold is cleared; a volume attached elsewhere is refused with 409 naming it', async () => {
    const { startOciEmulator } = await import('../src/oci-emulator/server');
    const emu = await startOciEmulator({ volumes: [{ id: VOLUME }, { id: `${VOLUME}-2` }], instances: [{ id: INSTANCE }, { id: OTHER }], attachments: [{ volumeId: VOLUME, instanceId: OTHER }] });
    const config = loadConfig({ env: { ATLAS_HOME: os.tmpdir(), ATLAS_OCI_ENDPOINT: emu.url, ATLAS_OCI_VOLUME_ID: VOLUME } });
    const client = await computeClient(config);
    try {
      const compartmentId = 'ocid1.compartment.oc1..emulator';
      const [att] = (await client.listVolumeAttachments({ compartmentId, volumeId: VOLUME })).items;
      expect(att).toMatchObject({ instanceId: OTHER, lifecycleState: 'ATTACHED' });
      const conflict = await client.attachVolume({ attachVolumeDetails: { type: 'paravirtualized', instanceId: INSTANCE, volumeId: VOLUME } as never }).catch((e: unknown) => e);
      expect((conflict as OciError).statusCode).toBe(409);
      expect((conflict as OciError).message).toContain(`volume ${VOLUME} is already attached (ATTACHED) to instance ${OTHER} by attachment ${att!.id}`);
      const unknown = await client.attachVolume({ attachVolumeDetails: { type: 'paravirtualized', instanceId: 'ocid1.instance.oc1..nope', volumeId: `${VOLUME}-2` } as never }).catch((e: unknown) => e);
      expect((unknown as OciError).statusCode).toBe(404);
      expect((unknown as OciError).message).toContain('instance ocid1.instance.oc1..nope not found');

      emu.faults.holdAttachments = true;
      await client.detachVolume({ volumeAttachmentId: att!.id });
      expect((await client.getVolumeAttachment({ volumeAttachmentId: att!.id })).volumeAttachment.lifecycleState).toBe('DETACHING');
      expect((await client.getVolumeAttachment({ volumeAttachmentId: att!.id })).volumeAttachment.lifecycleState).toBe('DETACHING');
      emu.faults.holdAttachments = false;
      expect((await client.getVolumeAttachment({ volumeAttachmentId: att!.id })).volumeAttachment.lifecycleState).toBe('DETACHED');
      emu.faults.holdAttachments = true;
      const made = (await client.attachVolume({ attachVolumeDetails: { type: 'paravirtualized', instanceId: INSTANCE, volumeId: VOLUME, device: DEVICE } as never })).volumeAttachment;
      expect(made).toMatchObject({ instanceId: INSTANCE, volumeId: VOLUME, device: DEVICE, lifecycleState: 'ATTACHING' });
      expect((await client.getVolumeAttachment({ volumeAttachmentId: made.id })).volumeAttachment.lifecycleState).toBe('ATTACHING');
      emu.faults.holdAttachments = false;
      expect((await client.getVolumeAttachment({ volumeAttachmentId: made.id })).volumeAttachment.lifecycleState).toBe('ATTACHED');
      // Only an ATTACHED attachment can be detached; a detached one is gone.
      expect(((await client.detachVolume({ volumeAttachmentId: att!.id }).catch((e: unknown) => e)) as OciError).statusCode).toBe(404);
    } finally {
      client.close();
      await emu.close();
    }
  });
});
