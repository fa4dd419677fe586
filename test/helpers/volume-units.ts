// A `systemctl` that starts Option C's volume units as systemd would (docs/safety.md#the-worker-as-deployed):
// `start` of an instance of deploy/systemd/atlas-ops-volume-mount@.service or of
// atlas-ops-volume-umount.service runs that unit file's ExecStartPre/ExecStart lines, read from deploy/
// (%i the instance, the unit's mount point mapped to the test's, /usr/bin/ commands taken from PATH:
// the fake host's stand-ins), and only when the installed polkit rule allows it: `allow` writes the
// requests the real rule (test/helpers/polkit.ts) answers yes for. Refusals use systemd's words.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { VOLUME_MOUNT_UNIT, VOLUME_UMOUNT_UNIT } from '../../src/deployed-privileges';
import { atlasPaths } from '../../src/paths';
import type { FakeHost } from './fake-host';
import { polkitRule } from './polkit';
import { readUnit } from './systemd-unit';

export interface VolumeUnitsSystemctl {
  bin: string;
  /** Installs the polkit rule as the real rule file decides for `user`: each `start <unit>` it allows. */
  allow(units: string[], user?: string): void;
  /** `missing`: the units are not installed; `noop`: they succeed and do nothing (a unit with the wrong mount point). */
  mode(m: 'run' | 'missing' | 'noop'): void;
  calls(): string[];
  remove(): void;
}

/** The unit's Exec lines as shell commands on this test's host: `unitMountPoint` (the unit's) becomes `mountPoint`. */
function execLines(unit: string, keys: string[], unitMountPoint: string, mountPoint: string): string {
  const u = readUnit(unit);
  return keys
    .flatMap((k) => u.values(k))
    .map((line) => {
      if (/^[-@:+!]/.test(line)) throw new Error(`${unit}: an Exec prefix (${line[0]}) this stand-in does not play`);
      const mapped = line.replaceAll('%i', '$i').replace(/\/usr\/bin\//g, '').replace(new RegExp(`${unitMountPoint}(?=[\\s;"']|$)`, 'g'), mountPoint);
      return `${mapped} || fail`;
    })
    .join('\n');
}

export function volumeUnitsSystemctl(unitMountPoint: string, mountPoint: string): VolumeUnitsSystemctl {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-volume-units-'));
  const template = VOLUME_MOUNT_UNIT.replace(/@\.service$/, '@');
  fs.writeFileSync(
    path.join(dir, 'systemctl'),
    `#!/bin/sh
D='${dir}'
echo "$*" >> "$D/calls"
[ "$1" = start ] || { echo "this stand-in plays start only: systemctl $*" >&2; exit 2; }
unit=$2
case "$unit" in
  ${template}*.service) i=\${unit#${template}}; i=\${i%.service}; kind=mount ;;
  ${VOLUME_UMOUNT_UNIT}) kind=umount ;;
  *) kind=none ;;
esac
mode=$(cat "$D/mode" 2>/dev/null)
if [ "$kind" = none ] || [ "$mode" = missing ]; then echo "Failed to start $unit: Unit $unit not found." >&2; exit 5; fi
grep -qxF "start $unit" "$D/polkit-allowed" 2>/dev/null || { echo "Failed to start $unit: Interactive authentication required." >&2; exit 1; }
[ "$mode" = noop ] && exit 0
fail() { echo "Job for $unit failed because the control process exited with error code." >&2; exit 1; }
if [ "$kind" = mount ]; then
${execLines(VOLUME_MOUNT_UNIT, ['ExecStartPre', 'ExecStart'], unitMountPoint, mountPoint)}
else
${execLines(VOLUME_UMOUNT_UNIT, ['ExecStartPre', 'ExecStart'], unitMountPoint, mountPoint)}
fi
exit 0
`,
    { mode: 0o755 },
  );
  const decide = polkitRule();
  return {
    bin: dir,
    allow(units, user = readUnit('atlas-ops-worker.service').one('User')) {
      const allowed = units.filter((unit) => decide({ user, unit, verb: 'start' }) === 'yes');
      fs.writeFileSync(path.join(dir, 'polkit-allowed'), allowed.map((u) => `start ${u}\n`).join(''));
    },
    mode: (m) => fs.writeFileSync(path.join(dir, 'mode'), m),
    calls: () => (fs.existsSync(path.join(dir, 'calls')) ? fs.readFileSync(path.join(dir, 'calls'), 'utf8').trim().split('\n') : []),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** A volume swap on the fake host: the values `swapScene` sets up. */
export const SCENE = {
  oldVolume: 'ocid1.volume.oc1.emulator.atlas-home',
  restoredVolume: 'ocid1.volume.oc1.emulator.restored',
  oldUuid: '0f3c6a2e-5b1d-4c4c-9e9e-0123456789ab',
  newUuid: '7d1e2f30-4a5b-4c6d-8e9f-a0b1c2d3e4f5',
  device: '/dev/oracleoci/oraclevdb',
  newDevice: '/dev/oracleoci/oraclevdc',
  backup: 'atlas-20261130.db',
} as const;

/**
 * `home` on the data volume, mounted (atlas.db damaged; ops.db and a backup as they are now), and the
 * volume restored from a volume backup attached at SCENE.newDevice (atlas.db and ops.db as they were).
 */
export function swapScene(host: FakeHost, home: string): void {
  const paths = atlasPaths(home);
  fs.mkdirSync(paths.backupsDir, { recursive: true });
  fs.mkdirSync(paths.dataDir, { recursive: true });
  fs.writeFileSync(paths.atlasDb, 'atlas.db, damaged');
  fs.writeFileSync(paths.opsDb, 'ops.db as it is now');
  fs.writeFileSync(path.join(paths.backupsDir, SCENE.backup), 'a backup taken after the volume backup');
  host.mounted(SCENE.oldVolume, SCENE.oldUuid, home, SCENE.device);
  const content = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-volume-backup-'));
  fs.mkdirSync(path.join(content, 'data'));
  fs.writeFileSync(path.join(content, 'data', 'atlas.db'), 'atlas.db, restored');
  fs.writeFileSync(path.join(content, 'data', 'ops.db'), 'ops.db as it was then');
  host.backupHolds('backup-1', content, SCENE.newUuid);
  fs.rmSync(content, { recursive: true });
  host.onAttachment({ volumeId: SCENE.restoredVolume, device: SCENE.newDevice, lifecycleState: 'ATTACHED' }, () => 'backup-1');
}

/** After the swap: the restored volume mounted at `home`, only atlas.db rolled back. */
export function expectOnlyAtlasDbRolledBack(host: FakeHost, home: string): void {
  const paths = atlasPaths(home);
  expect(host.mountedAt(home)).toBe(SCENE.restoredVolume);
  expect(fs.readFileSync(paths.atlasDb, 'utf8')).toBe('atlas.db, restored');
  expect(fs.readFileSync(paths.opsDb, 'utf8')).toBe('ops.db as it is now');
  expect(fs.readdirSync(paths.backupsDir)).toEqual([SCENE.backup]);
}
