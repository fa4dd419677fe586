// A stand-in host for Option C's volume swap: `mount`, `umount`, `mountpoint` and `lsblk` that act
// on directories, put first on PATH. Each OCI volume is a directory with a file system UUID; the
// OCI emulator's attachments make its device appear (ATTACHED) and vanish (DETACHING), as the
// kernel would; mounting moves the volume's files into the mount point (what was there is hidden
// until the unmount), so the "mounted volume" is a real directory holding a real atlas.db.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface FakeHost {
  /** Put first on PATH (the worker's command runner looks there at call time). */
  bin: string;
  root: string;
  /** `volumeId`'s file system is mounted at `mountPoint`: its files are the ones there now. */
  mounted(volumeId: string, uuid: string, mountPoint: string, device: string): void;
  /** A volume restored from `backupId` holds a copy of `content` (a directory), with `uuid` (a clone keeps its source's). */
  backupHolds(backupId: string, content: string, uuid: string): void;
  /** For the OCI emulator's `onAttachmentChange`; `sourceOf` says which backup a volume was made from. */
  onAttachment(a: { volumeId: string; device?: string; lifecycleState: string }, sourceOf: (volumeId: string) => string | undefined): void;
  /** The volume whose files are at `mountPoint` now, if any. */
  mountedAt(mountPoint: string): string | undefined;
  /** The directory a volume's files are in while it is not mounted. */
  volumeFiles(volumeId: string): string;
  /** Commands run, one line each ("mount UUID=… /x"). */
  calls(): string[];
  remove(): void;
}

const key = (mountPoint: string) => mountPoint.replace(/\//g, '_');

/** The stand-ins share one state directory ($FAKE_HOST, written into each script). */
function scripts(root: string): Record<string, string> {
  const head = `#!/bin/sh\nR='${root}'\necho "$(basename "$0") $*" >> "$R/calls"\nkey() { echo "$1" | tr / _; }\nmove() { find "$1" -mindepth 1 -maxdepth 1 -exec mv -t "$2" {} +; }\n`;
  return {
    mountpoint: `${head}[ "$1" = -q ] && shift\n[ -f "$R/mounts/$(key "$1")" ] && exit 0\nexit 32\n`,
    umount: `${head}k=$(key "$1")\n[ -f "$R/mounts/$k" ] || { echo "umount: $1: not mounted." >&2; exit 32; }\nvol=$(cat "$R/mounts/$k")\nmove "$1" "$vol/fs"\nmove "$R/under/$k" "$1"\nrm "$R/mounts/$k"\n`,
    mount:
      `${head}while [ "$1" = -o ]; do shift 2; done\nuuid=\${1#UUID=}\nk=$(key "$2")\n[ -f "$R/mounts/$k" ] && { echo "mount: $2: already mounted." >&2; exit 32; }\n` +
      `for d in "$R"/dev/*; do [ -L "$d" ] || continue; v=$(readlink "$d"); [ "$(cat "$v/uuid")" = "$uuid" ] && vol=$v; done\n` +
      `[ -n "$vol" ] || { echo "mount: can't find UUID=$uuid." >&2; exit 32; }\nmkdir -p "$R/under/$k"\nmove "$2" "$R/under/$k"\nmove "$vol/fs" "$2"\necho "$vol" > "$R/mounts/$k"\n`,
    lsblk: `${head}d="$R/dev/$(basename "$3")"\n[ -L "$d" ] || { echo "lsblk: $3: not a block device" >&2; exit 32; }\ncat "$(readlink "$d")/uuid"\n`,
  };
}

export function fakeHost(): FakeHost {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-fake-host-'));
  const bin = path.join(root, 'bin');
  for (const d of [bin, 'dev', 'volumes', 'mounts', 'under', 'backups']) fs.mkdirSync(path.resolve(root, d), { recursive: true });
  for (const [name, text] of Object.entries(scripts(root))) fs.writeFileSync(path.join(bin, name), text, { mode: 0o755 });
  const volumeDir = (id: string) => path.join(root, 'volumes', id);
  const device = (dev: string) => path.join(root, 'dev', path.basename(dev));
  return {
    bin,
    root,
    mounted(volumeId, uuid, mountPoint, dev) {
      fs.mkdirSync(path.join(volumeDir(volumeId), 'fs'), { recursive: true });
      fs.writeFileSync(path.join(volumeDir(volumeId), 'uuid'), `${uuid}\n`);
      fs.writeFileSync(path.join(root, 'mounts', key(mountPoint)), `${volumeDir(volumeId)}\n`);
      fs.mkdirSync(path.join(root, 'under', key(mountPoint)), { recursive: true });
      fs.symlinkSync(volumeDir(volumeId), device(dev));
    },
    backupHolds(backupId, content, uuid) {
      fs.cpSync(content, path.join(root, 'backups', backupId, 'fs'), { recursive: true });
      fs.writeFileSync(path.join(root, 'backups', backupId, 'uuid'), `${uuid}\n`);
    },
    onAttachment(a, sourceOf) {
      if (!a.device) return;
      const dev = device(a.device);
      if (a.lifecycleState === 'ATTACHED') {
        const dir = volumeDir(a.volumeId);
        const source = sourceOf(a.volumeId);
        if (!fs.existsSync(dir) && source) fs.cpSync(path.join(root, 'backups', source), dir, { recursive: true });
        fs.mkdirSync(path.join(dir, 'fs'), { recursive: true });
        fs.rmSync(dev, { force: true });
        fs.symlinkSync(dir, dev);
      } else if (a.lifecycleState === 'DETACHING' || a.lifecycleState === 'DETACHED') {
        if (fs.existsSync(dev) && fs.readlinkSync(dev) === volumeDir(a.volumeId)) fs.rmSync(dev);
      }
    },
    mountedAt(mountPoint) {
      const f = path.join(root, 'mounts', key(mountPoint));
      return fs.existsSync(f) ? path.basename(fs.readFileSync(f, 'utf8').trim()) : undefined;
    },
    volumeFiles: (volumeId) => path.join(volumeDir(volumeId), 'fs'),
    calls: () => (fs.existsSync(path.join(root, 'calls')) ? fs.readFileSync(path.join(root, 'calls'), 'utf8').trim().split('\n') : []),
    remove: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}
