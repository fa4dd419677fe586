// Snapshot benchmark (docs/performance.md#snapshot): our verified snapshot against `sqlite3 .backup` +
// `PRAGMA integrity_check` and a raw file copy, with and without the Atlas app writing 100+ times a
// second, the app's sustained write rate during a snapshot, and restore (the restore procedure and
// Option B) against restoring by hand. All in one run.
//
//   npx tsx bench/snapshot.ts [sizeMB=200 ...] [--rate 150] [--cli-timeout 60]
//   npx tsx bench/snapshot.ts 100 1024      # the issue's sizes: 100 MB and 1 GB
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrateAtlas } from '../src/db/atlas-schema';
import { restoreBackup } from '../src/db/restore';
import { takeSnapshot } from '../src/db/snapshot';
import { fsyncPath, integrityProblems, openDatabase } from '../src/db/sqlite';
import { startWriter as startWriterOn, stopWriter } from './lib/writer-process';

const args = process.argv.slice(2);
const flag = (name: string, def: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
// Sizes in MB; flag values are not sizes.
const flagValues = new Set(['--rate', '--cli-timeout'].map((f) => args.indexOf(f) + 1).filter((i) => i > 0));
const sizes = args.filter((a, i) => /^\d+$/.test(a) && !flagValues.has(i)).map(Number);
const rate = flag('--rate', 150);
const cliTimeoutS = flag('--cli-timeout', 60);

let dir = '';
let source = '';
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const since = (t0: number) => performance.now() - t0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function build(sizeMb: number): void {
  const db = openDatabase(source, { create: true, wal: true });
  migrateAtlas(db);
  const insert = db.prepare("INSERT INTO errors (at, source, level, message) VALUES (?, 'bench', 'error', ?)");
  const text = 'x'.repeat(900);
  const rows = Math.ceil((sizeMb * 1e6) / 1000);
  for (let done = 0; done < rows; done += 50_000) {
    db.transaction(() => {
      for (let i = done; i < Math.min(rows, done + 50_000); i++) insert.run(new Date(1_700_000_000_000 + i * 1000).toISOString(), `${i} ${text}`);
    })();
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

/** The app's stand-in on the source database, at `writeRate` writes a second ("max": back to back). */
const startWriter = (writeRate: number | 'max' = rate) => startWriterOn(source, writeRate);

/** `sqlite3 <src> ".backup <dst>"` with a time limit: returns the time, or undefined when cut off. */
function cliBackup(dst: string, timeoutMs: number): Promise<number | undefined> {
  fs.rmSync(dst, { force: true });
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn('sqlite3', [source, `.backup ${dst}`], { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0 ? since(t0) : undefined);
    });
  });
}

function cliIntegrity(file: string): number {
  const t0 = performance.now();
  const out = execFileSync('sqlite3', [file, 'PRAGMA integrity_check'], { encoding: 'utf8', maxBuffer: 1 << 26 }).trim();
  if (out !== 'ok') throw new Error(`integrity_check of the CLI backup: ${out.slice(0, 200)}`);
  return since(t0);
}

async function runSize(sizeMb: number): Promise<void> {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-bench-'));
  source = path.join(dir, 'atlas.db');
  process.stdout.write(`=== ${sizeMb} MB ===\nbuilding a ${sizeMb} MB atlas.db in ${dir} …\n`);
  let t0 = performance.now();
  build(sizeMb);
  const bytes = fs.statSync(source).size;
  process.stdout.write(`built ${(bytes / 1e6).toFixed(0)} MB in ${secs(since(t0))}\n\n`);

  // The physical limit: copy the file and fsync it.
  const rawCopy = path.join(dir, 'raw-copy.db');
  t0 = performance.now();
  fs.copyFileSync(source, rawCopy);
  fsyncPath(rawCopy);
  const rawMs = since(t0);
  fs.rmSync(rawCopy);

  // sqlite3 CLI without writes: .backup then PRAGMA integrity_check.
  const cliDst = path.join(dir, 'cli-backup.db');
  const cliBackupMs = (await cliBackup(cliDst, cliTimeoutS * 1000))!;
  const cliCheckMs = cliIntegrity(cliDst);
  fs.rmSync(cliDst, { force: true });

  // Ours without writes.
  const backups = path.join(dir, 'backups');
  t0 = performance.now();
  const quiet = await takeSnapshot({ source, backupsDir: backups, reason: 'bench quiet' });
  const oursQuietMs = since(t0);

  // Ours while the app writes at its usual rate.
  let writer = await startWriter();
  t0 = performance.now();
  const busy = await takeSnapshot({ source, backupsDir: backups, reason: 'bench under writes' });
  const oursBusyMs = since(t0);
  const oursWriter = await stopWriter(writer);

  // Sustained writes: the app writing back to back, alone and then during our snapshot.
  writer = await startWriter('max');
  await sleep(Math.max(2000, oursQuietMs));
  const flatOutAlone = await stopWriter(writer);
  writer = await startWriter('max');
  await takeSnapshot({ source, backupsDir: backups, reason: 'bench under flat-out writes' });
  const flatOutDuring = await stopWriter(writer);

  // sqlite3 CLI while the app writes: its stepped backup restarts on every write between steps.
  writer = await startWriter();
  const cliBusyMs = await cliBackup(cliDst, Math.max(cliTimeoutS * 1000, 5 * cliBackupMs));
  const cliWriter = await stopWriter(writer);
  const cliBusyCheckMs = cliBusyMs !== undefined ? cliIntegrity(cliDst) : undefined;
  fs.rmSync(cliDst, { force: true });

  // Restore by hand: copy the backup over the database, then integrity_check it with the CLI.
  const backupFile = path.join(backups, busy.file);
  const handTarget = path.join(dir, 'restored-by-hand.db');
  t0 = performance.now();
  fs.copyFileSync(backupFile, handTarget);
  fsyncPath(handTarget);
  cliIntegrity(handTarget);
  const handRestoreMs = since(t0);
  fs.rmSync(handTarget);

  // Ours: what the restore procedure and Option B do per candidate (src/db/restore.ts): staging
  // copy, integrity_check, keep the replaced (here: corrupt) file, rename, fsync; then quick_check in place.
  const victim = path.join(dir, 'victim.db');
  fs.copyFileSync(source, victim);
  const fd = fs.openSync(victim, 'r+');
  fs.writeSync(fd, Buffer.alloc(8192, 0xab), 0, 8192, Math.floor(bytes / 2 / 4096) * 4096);
  fs.closeSync(fd);
  t0 = performance.now();
  await restoreBackup({ backupFile, target: victim, keepSuffix: 'corrupted-bench' });
  const restoreMs = since(t0);
  const check = openDatabase(victim, { readonly: true });
  const restoredOk = integrityProblems(check, 'quick_check').length === 0;
  check.close();

  const cliTotal = cliBackupMs + cliCheckMs;
  const cliCutoff = Math.max(cliTimeoutS * 1000, 5 * cliBackupMs);
  const lines = [
    `database: ${(bytes / 1e6).toFixed(0)} MB, writer target ${rate} writes/s (WAL, synchronous=FULL)`,
    '',
    `raw file copy + fsync (physical limit)        ${secs(rawMs)}`,
    `sqlite3 .backup + integrity_check, no writes  ${secs(cliTotal)}  (backup ${secs(cliBackupMs)}, check ${secs(cliCheckMs)})`,
    `ours (copy + verify + sha256), no writes      ${secs(oursQuietMs)}  (copy ${secs(quiet.timings.copyMs)}, verify ${secs(quiet.timings.verifyMs)}, hash ${secs(quiet.timings.hashMs)})`,
    `ours under writes                             ${secs(oursBusyMs)}  (copy ${secs(busy.timings.copyMs)}, verify ${secs(busy.timings.verifyMs)}, hash ${secs(busy.timings.hashMs)})`,
    `  writer during ours: ${oursWriter.writesPerSecond.toFixed(0)} writes/s, worst write ${oursWriter.worstWriteMs.toFixed(1)} ms, worst lateness ${oursWriter.worstLateMs.toFixed(1)} ms, writes > 50 ms: ${oursWriter.writesOver50ms}`,
    cliBusyMs !== undefined
      ? `sqlite3 .backup under writes                  ${secs(cliBusyMs)} + check ${secs(cliBusyCheckMs!)}`
      : `sqlite3 .backup under writes                  did not finish in ${secs(cliCutoff)} (restarts on every write between steps)`,
    `  writer during CLI: ${cliWriter.writesPerSecond.toFixed(0)} writes/s, worst write ${cliWriter.worstWriteMs.toFixed(1)} ms`,
    `sustained writes, back to back (fsync each)   alone ${flatOutAlone.writesPerSecond.toFixed(0)} writes/s; during our snapshot ${flatOutDuring.writesPerSecond.toFixed(0)} writes/s (worst write ${flatOutDuring.worstWriteMs.toFixed(1)} ms, > 50 ms: ${flatOutDuring.writesOver50ms})`,
    `restore by hand (cp + fsync + sqlite3 integrity_check)  ${secs(handRestoreMs)}`,
    `restore, ours (staging copy, integrity_check, keep, rename, fsync)  ${secs(restoreMs)}  restored database sound: ${restoredOk}`,
    '',
    'ratios',
    `  ours / sqlite3 (.backup + integrity_check), both without writes   ${(oursQuietMs / cliTotal).toFixed(2)}  (target ≤ 1)`,
    `  ours under writes / sqlite3 without writes                        ${(oursBusyMs / cliTotal).toFixed(2)}`,
    `  ours under writes / sqlite3 under writes                          ${cliBusyMs !== undefined ? (oursBusyMs / (cliBusyMs + cliBusyCheckMs!)).toFixed(2) : `< ${(oursBusyMs / (cliCutoff + cliCheckMs)).toFixed(2)} (sqlite3 did not finish)`}`,
    `  ours / raw copy (physical limit)                                  ${(oursQuietMs / rawMs).toFixed(2)}`,
    `  sustained writes during our snapshot / alone                      ${(flatOutDuring.writesPerSecond / flatOutAlone.writesPerSecond).toFixed(2)}`,
    `  restore, ours / by hand                                           ${(restoreMs / handRestoreMs).toFixed(2)}`,
    `  restore, ours / raw copy (physical limit)                         ${(restoreMs / rawMs).toFixed(2)}`,
    `  writer worst stall during ours: ${oursWriter.worstWriteMs.toFixed(1)} ms (target < 50 ms)`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  fs.rmSync(dir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  if (!sizes.length) sizes.push(200);
  if (sizes.some((n) => n < 1)) throw new Error(`sizes are whole MB ≥ 1, got ${sizes.join(' ')}`);
  for (const size of sizes) await runSize(size);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  process.exit(1);
});
