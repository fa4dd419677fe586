// A `systemctl` that starts Option C's volume units as systemd would (docs/safety.md#the-worker-as-deployed):
// `start` of an instance of deploy/systemd/atlas-ops-volume-mount@.service or of
// atlas-ops-volume-umount.service runs that unit file's ExecStartPre/ExecStart lines, read from deploy/
// (%i the instance, the unit's mount point mapped to the test's, /usr/bin/ commands taken from PATH:
// the fake host's stand-ins), and only when the installed polkit rule allows it: `allow` writes the
// requests the real rule (test/helpers/polkit.ts) answers yes for. Refusals use systemd's words.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VOLUME_MOUNT_UNIT, VOLUME_UMOUNT_UNIT } from '../../src/deployed-privileges';
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
