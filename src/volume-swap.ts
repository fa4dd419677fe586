// Option C's host side (docs/procedures.md#option-c-the-volume-swap): the data volume is swapped for
// one restored from an OCI backup, and only atlas.db may roll back. Everything else atlas-ops owns
// under the mount point (ops.db, the maintenance flag, the kept evidence, backups/, logs/, reports/,
// run/, config/) is copied to a stash off the volume before the old volume is unmounted, and copied
// over the restored one once it is mounted. While the stash is active, ops.db is the stash's copy
// (ActivityContext reads `activeOpsDb`), so what the procedure records meanwhile is kept too.
// mount, umount, mountpoint, lsblk and systemctl go through the command runner: tests put stand-ins
// on PATH. A worker that may not mount (the deployed unit) starts root units instead of mount/umount
// (oci.mountUnit, oci.umountUnit; docs/safety.md#the-worker-as-deployed).
import fs from 'node:fs';
import path from 'node:path';
import type { AtlasConfig } from './config';
import { commandFailure, runCommand, runningUser } from './command-runner';
import { DEPLOYED_STATE_DIR, FS_UUID, POLKIT_RULE, grant, unitInstance } from './deployed-privileges';
import { MODE } from './file-modes';
import type { AtlasPaths } from './paths';
import { failure } from './workflow-safe/failures';

/** What rolls back with the volume: the app's database, and nothing else. */
const ROLLS_BACK = new Set(['atlas.db', 'atlas.db-wal', 'atlas.db-shm', 'atlas.db-journal']);

/** The stash of one mount point (one swap at a time: the atlas.db lock). */
export function stashDir(config: AtlasConfig): string {
  return path.join(config.oci.swapStashDir, config.oci.mountPoint.replace(/[^A-Za-z0-9._-]/g, '_'));
}

/** Written last by `stash`, removed last by `unstash`: while it exists the stash is the truth. */
const marker = (config: AtlasConfig) => path.join(stashDir(config), '.active');
const files = (config: AtlasConfig) => path.join(stashDir(config), 'files');

/** The ops.db atlas-ops uses now: the stash's copy during a swap, else the one on the volume. */
export function activeOpsDb(config: AtlasConfig, paths: AtlasPaths): string {
  if (!fs.existsSync(marker(config))) return paths.opsDb;
  return path.join(files(config), path.relative(config.oci.mountPoint, paths.opsDb));
}

/** Whether `rel` (relative to the mount point) is atlas-ops's: everything but atlas.db and its side files. */
function carried(config: AtlasConfig, paths: AtlasPaths, rel: string): boolean {
  const abs = path.join(config.oci.mountPoint, rel);
  return !(path.dirname(abs) === paths.dataDir && ROLLS_BACK.has(path.basename(abs)));
}

export interface Stash {
  /** The stash: `files/` holds the copies, `.active` says they are in use. */
  dir: string;
  /** Top-level entries kept, relative to the mount point. */
  entries: string[];
  bytes: number;
}

function sizeOf(p: string): number {
  const st = fs.lstatSync(p);
  if (!st.isDirectory()) return st.size;
  return fs.readdirSync(p).reduce((n, f) => n + sizeOf(path.join(p, f)), 0);
}

/** The ops.db files relative to the mount point: copied in one synchronous stretch with the switch. */
const opsDbFiles = (config: AtlasConfig, paths: AtlasPaths) => ['', '-wal', '-shm'].map((s) => path.relative(config.oci.mountPoint, paths.opsDb + s));

/** Copies `entries` of `from` into `to`, but not ops.db (nor what `keep` refuses); heartbeats while it runs. */
async function copyAll(from: string, to: string, entries: string[], skip: Set<string>, keep: (rel: string) => boolean, beat: () => void): Promise<void> {
  const timer = setInterval(beat, 5000);
  try {
    for (const e of entries) {
      await fs.promises.cp(path.join(from, e), path.join(to, e), { recursive: true, force: true, preserveTimestamps: true, filter: (src) => !skip.has(path.relative(from, src)) && keep(path.relative(from, src)) });
    }
  } finally {
    clearInterval(timer);
  }
}

function copyOpsDb(from: string, to: string, rels: string[]): void {
  for (const rel of rels) {
    fs.rmSync(path.join(to, rel), { force: true });
    if (fs.existsSync(path.join(from, rel))) {
      fs.mkdirSync(path.dirname(path.join(to, rel)), { recursive: true });
      fs.copyFileSync(path.join(from, rel), path.join(to, rel));
    }
  }
}

/**
 * Copies what atlas-ops owns under the mount point into the stash and makes it active. ops.db is
 * copied last, after `close` closed this worker's connection, in one synchronous stretch that ends
 * with the marker: no other activity of this worker writes the volume's ops.db after its copy.
 * Idempotent: an active stash is kept as it is (the volume may already be unmounted); a partial
 * one (the worker died copying) is made again.
 */
export async function stash(config: AtlasConfig, paths: AtlasPaths, close: () => void, beat: () => void): Promise<Stash> {
  const dir = files(config);
  if (fs.existsSync(marker(config))) return { dir: stashDir(config), entries: fs.readdirSync(dir), bytes: sizeOf(dir) };
  const mp = config.oci.mountPoint;
  if (!fs.existsSync(paths.atlasDb)) throw failure.VolumeSwapRefused(`oci.mountPoint: ${mp} holds no data/atlas.db: the data volume is not mounted there. Nothing was swapped.`);
  const entries = fs.readdirSync(mp);
  const need = entries.reduce((n, e) => n + sizeOf(path.join(mp, e)), 0) - [...ROLLS_BACK].reduce((n, f) => n + (fs.existsSync(path.join(paths.dataDir, f)) ? fs.statSync(path.join(paths.dataDir, f)).size : 0), 0);
  try {
    fs.rmSync(stashDir(config), { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ENOENT from a recursive mkdir: a parent could not be made (a read-only system says no more).
    if (!['EACCES', 'EROFS', 'EPERM', 'ENOENT'].includes(code ?? '')) throw err;
    throw failure.VolumeSwapRefused(`oci.swapStashDir: ${config.oci.swapStashDir} cannot be written by ${runningUser()} (${code}); the deployed worker unit makes ${DEPLOYED_STATE_DIR} its own (StateDirectory=, deploy/systemd/atlas-ops-worker.service): keep the stash under it (the default). Nothing was swapped.`);
  }
  const free = fs.statfsSync(dir);
  if (free.bavail * free.bsize < need) {
    throw failure.VolumeSwapRefused(`oci.swapStashDir: ${config.oci.swapStashDir} has ${free.bavail * free.bsize} bytes free, ${need} needed to keep atlas-ops' files during the swap. Nothing was swapped.`);
  }
  const ops = opsDbFiles(config, paths);
  await copyAll(mp, dir, entries, new Set(ops), (rel) => carried(config, paths, rel), beat);
  close();
  copyOpsDb(mp, dir, ops);
  fs.writeFileSync(marker(config), `${JSON.stringify({ mountPoint: mp, at: new Date().toISOString() })}\n`, { mode: MODE.file });
  return { dir: stashDir(config), entries, bytes: need };
}

/**
 * Copies the stash over the (restored) volume at the mount point, then retires it. The volume's own
 * copies of those files (ops.db as it was at the backup, older backups) are replaced: only atlas.db
 * stays as restored. ops.db goes last, with the marker's removal, in one synchronous stretch.
 * Idempotent: without an active stash there is nothing left to copy.
 */
export async function unstash(config: AtlasConfig, paths: AtlasPaths, close: () => void, beat: () => void): Promise<{ restored: string[] }> {
  if (!fs.existsSync(marker(config))) return { restored: [] };
  const dir = files(config);
  const mp = config.oci.mountPoint;
  if (!fs.existsSync(paths.atlasDb)) throw failure.VolumeSwapRefused(`oci.mountPoint: ${mp} holds no data/atlas.db: the restored volume is not mounted there. The stash ${dir} is kept.`);
  const entries = fs.readdirSync(dir);
  const data = path.relative(mp, paths.dataDir);
  // A top-level directory is replaced whole (the backups/ the volume had then are not ours now);
  // data/ keeps the restored atlas.db.
  for (const e of entries) if (e !== data) fs.rmSync(path.join(mp, e), { recursive: true, force: true });
  const ops = opsDbFiles(config, paths);
  await copyAll(dir, mp, entries, new Set(ops), () => true, beat);
  close();
  copyOpsDb(dir, mp, ops);
  fs.rmSync(marker(config));
  fs.rmSync(stashDir(config), { recursive: true, force: true });
  return { restored: entries };
}

async function run(command: string, args: string[]): Promise<{ code: number | null; out: string }> {
  const r = await runCommand(command, args, { timeoutMs: 120_000 });
  return { code: r.code, out: (r.stdout + r.stderr).trim().slice(0, 300) };
}

/** `mountpoint -q`: exit 0 when something is mounted there. */
export async function mounted(dir: string): Promise<boolean> {
  return (await run('mountpoint', ['-q', dir])).code === 0;
}

/**
 * `systemctl start` of one of Option C's root units (oci.umountUnit, an instance of oci.mountUnit), for
 * a worker that may not mount (docs/safety.md#the-worker-as-deployed). A polkit refusal, or the unit
 * not installed, is PrivilegeMissing naming the files that grant it; any other failure is retried.
 */
async function startUnit(unit: string, template: string): Promise<void> {
  const r = await runCommand('systemctl', ['start', unit], { timeoutMs: 120_000 });
  if (r.code === 0) return;
  const why = grant.volumeUnit(unit, template);
  const said = (r.stderr || r.stdout).trim().slice(0, 300).replace(/\.$/, '');
  if (/Unit \S+ not found|not loaded/i.test(said)) throw failure.PrivilegeMissing(`\`systemctl start ${unit}\` exited ${r.code}: ${said}. The unit is not installed on this host: ${why}`);
  throw commandFailure(r, why);
}

/** What the unit was to do, checked with `mountpoint -q`: a unit that "succeeded" without doing it fails the step. */
const notDone = (unit: string, template: string, mp: string, what: string) =>
  failure.CommandFailed(
    `\`systemctl start ${unit}\` succeeded, yet ${what} (mountpoint -q ${mp}): the unit does not act on oci.mountPoint ${mp}. Its ExecStart must name ${mp} (deploy/systemd/${template}, installed in /etc/systemd/system/); fix it, systemctl daemon-reload, then retry the step.`,
  );

/** Unmounts the data volume; done already when nothing is mounted there. */
export async function unmount(config: AtlasConfig): Promise<{ unmounted: boolean }> {
  const mp = config.oci.mountPoint;
  if (!(await mounted(mp))) return { unmounted: false };
  const unit = config.oci.umountUnit;
  if (unit) {
    await startUnit(unit, unit);
    if (await mounted(mp)) throw notDone(unit, unit, mp, `${mp} is still a mount point`);
    return { unmounted: true };
  }
  const r = await run('umount', [mp]);
  if (r.code !== 0) throw failure.CommandFailed(`umount ${mp} exited ${r.code}: ${r.out}. Something still uses the volume (fuser -vm ${mp}); stop it and retry the step.`);
  return { unmounted: true };
}

/**
 * The file system UUID on `device`, as /dev/disk/by-uuid names it: `lsblk`, which reads udev's
 * database and so needs no privilege (`blkid` run by another user than root reads only its cache,
 * which a volume attached a moment ago is not in).
 */
export async function uuidOf(device: string): Promise<string> {
  const r = await run('lsblk', ['-dno', 'UUID', device]);
  const uuid = r.out.split('\n')[0]?.trim() ?? '';
  if (r.code !== 0 || !/^[0-9A-Fa-f-]{8,36}$/.test(uuid)) throw failure.CommandFailed(`lsblk found no file system UUID on ${device} (exit ${r.code}${r.out ? `: ${r.out}` : ''}); the device may not be there yet.`);
  return uuid;
}

/** Mounts the file system with `uuid` at the mount point; done already when one is mounted there. */
export async function mountByUuid(config: AtlasConfig, uuid: string): Promise<{ mounted: boolean }> {
  const mp = config.oci.mountPoint;
  if (await mounted(mp)) return { mounted: false };
  const template = config.oci.mountUnit;
  if (template) {
    if (!FS_UUID.test(uuid)) throw failure.PrivilegeMissing(`the file system UUID ${uuid} is not of the form the polkit rule allows as an instance of ${template} (8-4-4-4-12 hex digits, ${POLKIT_RULE}): mount it at ${mp} by hand, then retry the step.`);
    const unit = unitInstance(template, uuid);
    await startUnit(unit, template);
    if (!(await mounted(mp))) throw notDone(unit, template, mp, `nothing is mounted at ${mp}`);
    return { mounted: true };
  }
  const r = await run('mount', [`UUID=${uuid}`, mp]);
  if (r.code !== 0) throw failure.CommandFailed(`mount UUID=${uuid} ${mp} exited ${r.code}: ${r.out}`);
  return { mounted: true };
}
