// Option C's host steps as the deployed worker runs them (docs/safety.md#the-worker-as-deployed): with
// oci.mountUnit and oci.umountUnit set as deploy/systemd/atlas-ops-worker.service sets them, the
// unmount and the mount are `systemctl start` of the root units in deploy/systemd/, gated by the
// shipped polkit rule (evaluated), whose ExecStart lines act on a stand-in host (test/helpers/fake-host.ts,
// test/helpers/volume-units.ts). Then `mountpoint` says whether the unit did what it was started for.
// A refusal, a unit not installed, and a unit that succeeds without acting each fail the step, naming
// what to install or fix. No Temporal here: src/volume-swap.ts is called directly.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApplicationFailure } from '@temporalio/common';
import { loadConfig, type AtlasConfig } from '../src/config';
import { POLKIT_RULE, VOLUME_MOUNT_UNIT, VOLUME_UMOUNT_UNIT, unitInstance } from '../src/deployed-privileges';
import { atlasPaths } from '../src/paths';
import { mountByUuid, stash, unmount, unstash, uuidOf } from '../src/volume-swap';
import { fakeHost, type FakeHost } from './helpers/fake-host';
import { readUnit } from './helpers/systemd-unit';
import { SCENE, expectOnlyAtlasDbRolledBack, swapScene, volumeUnitsSystemctl, type VolumeUnitsSystemctl } from './helpers/volume-units';

const { oldVolume: OLD, restoredVolume: RESTORED, newUuid: NEW_UUID, newDevice: NEW_DEVICE } = SCENE;
const worker = readUnit('atlas-ops-worker.service');
const savedPath = process.env.PATH;
const noop = () => undefined;

/** The failure a step threw (an ApplicationFailure from the catalogue). */
async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (err) {
    return err as ApplicationFailure;
  }
  throw new Error('the step did not fail');
}

describe('Option C\'s host steps through the deployed volume units', () => {
  let home: string;
  let stashRoot: string;
  let host: FakeHost;
  let systemctl: VolumeUnitsSystemctl;
  let config: AtlasConfig;
  const mountUnit = unitInstance(VOLUME_MOUNT_UNIT, NEW_UUID);
  const hostMounts = () => host.calls().filter((c) => /^u?mount /.test(c));

  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-units-home-'));
    stashRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-units-stash-'));
    host = fakeHost();
    swapScene(host, home);
    systemctl = volumeUnitsSystemctl(worker.environment().ATLAS_HOME!, home);
    process.env.PATH = `${systemctl.bin}${path.delimiter}${host.bin}${path.delimiter}${savedPath}`;
    // The deployed unit's settings (ATLAS_OCI_MOUNT_UNIT, ATLAS_OCI_UMOUNT_UNIT), this test's home and stash.
    config = loadConfig({ env: { ...worker.environment(), ATLAS_HOME: home, ATLAS_OCI_SWAP_STASH: stashRoot } });
  });

  afterEach(() => {
    process.env.PATH = savedPath;
    host.remove();
    systemctl.remove();
    for (const d of [home, stashRoot]) fs.rmSync(d, { recursive: true, force: true });
  });

  it('unmounts and mounts by starting the units (mount@<uuid>), whose ExecStart acts on the mount point; only atlas.db rolls back', async () => {
    expect([config.oci.mountUnit, config.oci.umountUnit]).toEqual([VOLUME_MOUNT_UNIT, VOLUME_UMOUNT_UNIT]);
    systemctl.allow([VOLUME_UMOUNT_UNIT, mountUnit]);
    const paths = atlasPaths(home);
    await stash(config, paths, noop, noop);
    expect(await unmount(config)).toEqual({ unmounted: true });
    expect(host.mountedAt(home)).toBeUndefined();
    const uuid = await uuidOf(NEW_DEVICE);
    expect(uuid).toBe(NEW_UUID);
    expect(await mountByUuid(config, uuid)).toEqual({ mounted: true });
    expect(host.mountedAt(home)).toBe(RESTORED);
    await unstash(config, paths, noop, noop);
    expectOnlyAtlasDbRolledBack(host, home);
    // The worker asked systemd for exactly the two units; mount and umount ran only as the units' ExecStart.
    expect(systemctl.calls()).toEqual([`start ${VOLUME_UMOUNT_UNIT}`, `start ${mountUnit}`]);
    expect(hostMounts()).toEqual([`umount ${home}`, `mount -o nosuid,nodev UUID=${NEW_UUID} ${home}`]);
    // Again (a retried step): done already, nothing started.
    expect(await mountByUuid(config, uuid)).toEqual({ mounted: false });
    expect(systemctl.calls()).toHaveLength(2);
  });

  it('a polkit refusal (the rule not installed) is PrivilegeMissing naming the rule and the unit file; nothing is unmounted or mounted', async () => {
    systemctl.allow([]);
    const u = await failureOf(unmount(config));
    expect([u.type, u.nonRetryable]).toEqual(['PrivilegeMissing', true]);
    expect(u.message).toContain(`may not \`systemctl start ${VOLUME_UMOUNT_UNIT}\` (polkit refused it)`);
    expect(u.message).toContain(POLKIT_RULE);
    expect(u.message).toContain(`deploy/systemd/${VOLUME_UMOUNT_UNIT}`);
    expect(host.mountedAt(home)).toBe(OLD);

    // The umount allowed, the mount not: the instance and the template's file are named.
    systemctl.allow([VOLUME_UMOUNT_UNIT]);
    await unmount(config);
    const m = await failureOf(mountByUuid(config, NEW_UUID));
    expect(m.type).toBe('PrivilegeMissing');
    expect(m.message).toContain(`may not \`systemctl start ${mountUnit}\` (polkit refused it)`);
    expect(m.message).toContain(`deploy/systemd/${VOLUME_MOUNT_UNIT}`);
    expect(m.message).toContain(POLKIT_RULE);
    expect(host.mountedAt(home)).toBeUndefined();
    expect(hostMounts()).toEqual([`umount ${home}`]);
  });

  it('a file system UUID the rule would refuse as an instance is PrivilegeMissing before systemctl is asked', async () => {
    systemctl.allow([VOLUME_UMOUNT_UNIT]);
    await unmount(config);
    const m = await failureOf(mountByUuid(config, 'ABCD-1234'));
    expect(m.type).toBe('PrivilegeMissing');
    expect(m.message).toContain(`the file system UUID ABCD-1234 is not of the form the polkit rule allows as an instance of ${VOLUME_MOUNT_UNIT}`);
    expect(m.message).toContain(`mount it at ${home} by hand`);
    expect(systemctl.calls()).toEqual([`start ${VOLUME_UMOUNT_UNIT}`]);
  });

  it('units not installed: PrivilegeMissing saying so, naming the file to install', async () => {
    systemctl.allow([VOLUME_UMOUNT_UNIT, mountUnit]);
    systemctl.mode('missing');
    const u = await failureOf(unmount(config));
    expect(u.type).toBe('PrivilegeMissing');
    expect(u.message).toMatch(new RegExp(`Unit ${VOLUME_UMOUNT_UNIT.replace(/\./g, '\\.')} not found\\. The unit is not installed on this host: .*install deploy/systemd/${VOLUME_UMOUNT_UNIT.replace(/\./g, '\\.')}`));
    expect(host.mountedAt(home)).toBe(OLD);
  });

  it('a unit that "succeeds" without unmounting or mounting fails the step, saying the unit does not act on oci.mountPoint', async () => {
    systemctl.allow([VOLUME_UMOUNT_UNIT, mountUnit]);
    systemctl.mode('noop');
    const u = await failureOf(unmount(config));
    expect(u.type).toBe('CommandFailed');
    expect(u.message).toContain(`\`systemctl start ${VOLUME_UMOUNT_UNIT}\` succeeded, yet ${home} is still a mount point (mountpoint -q ${home})`);
    expect(u.message).toContain(`Its ExecStart must name ${home} (deploy/systemd/${VOLUME_UMOUNT_UNIT}`);
    expect(host.mountedAt(home)).toBe(OLD);

    systemctl.mode('run');
    await unmount(config);
    systemctl.mode('noop');
    const m = await failureOf(mountByUuid(config, NEW_UUID));
    expect(m.type).toBe('CommandFailed');
    expect(m.message).toContain(`\`systemctl start ${mountUnit}\` succeeded, yet nothing is mounted at ${home}`);
    expect(m.message).toContain(`deploy/systemd/${VOLUME_MOUNT_UNIT}`);
  });

  it('without the units (development, tests, a worker run as root) the steps run umount and mount themselves', async () => {
    const direct = loadConfig({ env: { ATLAS_HOME: home, ATLAS_OCI_SWAP_STASH: stashRoot } });
    expect(await unmount(direct)).toEqual({ unmounted: true });
    expect(await mountByUuid(direct, NEW_UUID)).toEqual({ mounted: true });
    expect(hostMounts()).toEqual([`umount ${home}`, `mount UUID=${NEW_UUID} ${home}`]);
    expect(systemctl.calls()).toEqual([]);
  });
});
