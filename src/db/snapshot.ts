// Verified local backups of atlas.db (docs/safety.md#verified-backups): a consistent copy taken while
// the Atlas app keeps writing, integrity-checked before it counts, with a manifest beside it.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { assertSqliteFile, DATABASE_FILE_SUFFIXES, fsyncPath, integrityProblems, withDatabase, PRIVATE_FILE_MMAP_BYTES, sizeOf } from './sqlite';
import { MODE } from '../file-modes';
import { stamp } from '../workflow-safe/stamp';

export interface BackupManifest {
  file: string;
  size: number;
  sha256: string;
  createdAt: string;
  source: string;
  reason: string;
  /** The workflow step that asked for it: a retried step finds its backup instead of taking another. */
  idempotencyKey?: string;
  verification: { ok: boolean; checkedAt: string; problems: string[] };
  rowCounts: Record<string, number>;
  timings: { copyMs: number; verifyMs: number; hashMs: number };
}

export interface BackupEntry {
  name: string;
  path: string;
  size: number;
  manifest?: BackupManifest;
  /** True only when a manifest says the copy passed integrity_check. */
  verified: boolean;
}

export const BACKUP_NAME = /^atlas_(\d{8})-(\d{6})(?:-(\d+))?\.db$/;

export function backupName(at: Date, n = 1): string {
  const when = stamp(at.getTime());
  return n === 1 ? `atlas_${when}.db` : `atlas_${when}-${n}.db`;
}

export const manifestPath = (backupFile: string) => `${backupFile}.manifest.json`;

export function readManifest(backupFile: string): BackupManifest | undefined {
  try {
    return JSON.parse(fs.readFileSync(manifestPath(backupFile), 'utf8')) as BackupManifest;
  } catch {
    return undefined;
  }
}

/**
 * Newest first by the name's stamp, then its sequence number: plain string order would put
 * `atlas_X.db` before the later `atlas_X-2.db` ('.' sorts after '-'), and `-10` before `-9`.
 */
export function newestFirst(a: string, b: string): number {
  const key = (name: string) => {
    const m = BACKUP_NAME.exec(name)!;
    return { stamp: `${m[1]}${m[2]}`, n: Number(m[3] ?? 1) };
  };
  const ka = key(a);
  const kb = key(b);
  return ka.stamp === kb.stamp ? kb.n - ka.n : kb.stamp.localeCompare(ka.stamp);
}

/** Backups newest first. A file without a readable manifest is listed but never counts as verified. */
export function listBackups(backupsDir: string): BackupEntry[] {
  if (!fs.existsSync(backupsDir)) return [];
  return fs
    .readdirSync(backupsDir)
    .filter((name) => BACKUP_NAME.test(name))
    .sort(newestFirst)
    .map((name) => {
      const file = path.join(backupsDir, name);
      const manifest = readManifest(file);
      return { name, path: file, size: fs.statSync(file).size, manifest, verified: manifest?.verification.ok === true };
    });
}

function writeFileDurably(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w', MODE.file);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

interface ThreadResult {
  ok: boolean;
  error?: { message: string; code?: string };
  size: number;
  sha256: string;
  integrity: string[];
  rowCounts: Record<string, number>;
  copyMs: number;
  verifyMs: number;
  hashMs: number;
}

const FLUSH_EVERY_BYTES = 32 << 20;

/** sha256 of a file, streamed; also fsyncs it, since every byte was just read anyway. */
async function hashFile(file: string): Promise<{ sha256: string; ms: number }> {
  const t0 = Date.now();
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 4 << 20 })) hash.update(chunk as Buffer);
  fsyncPath(file);
  return { sha256: hash.digest('hex'), ms: Date.now() - t0 };
}

/**
 * Copies and verifies in a worker thread (see snapshot-thread.js for why), hashing the copy here
 * while the thread runs integrity_check on it.
 */
function copyInThread(source: string, target: string, onProgress?: (bytes: number) => void): Promise<ThreadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(path.join(__dirname, 'snapshot-thread.js'), { workerData: { source, target, mmapBytes: PRIVATE_FILE_MMAP_BYTES } });
    // Flushing the copy as it grows keeps the final fsync small: one large fsync at the end
    // stalls the Atlas app's own fsyncs (same filesystem journal) for 100 ms and more.
    let flushed = 0;
    let copied = false;
    // Ticks until the end, not only while copying: the progress callback is the activity's
    // heartbeat, and verifying a large copy takes long enough to look like a dead worker.
    const ticker = setInterval(() => {
      try {
        const size = fs.statSync(target).size;
        if (!copied && size - flushed >= FLUSH_EVERY_BYTES) {
          fsyncPath(target);
          flushed = size;
        }
        onProgress?.(size);
      } catch {
        /* not created yet */
      }
    }, 100);
    let hashing: Promise<{ sha256: string; ms: number }> | undefined;
    let settled = false;
    const fail = (err: Error) => {
      settled = true;
      clearInterval(ticker);
      reject(err);
    };
    worker.on('message', (msg: ThreadResult & { copied?: boolean }) => {
      if (msg.copied) {
        copied = true;
        hashing = hashFile(target);
        hashing.catch(() => undefined);
        return;
      }
      settled = true;
      clearInterval(ticker);
      if (!msg.ok) return reject(Object.assign(new Error(msg.error?.message ?? 'backup failed'), { code: msg.error?.code }));
      if (!hashing) return reject(new Error('backup thread finished without copying'));
      hashing.then((h) => resolve({ ...msg, sha256: h.sha256, hashMs: h.ms }), reject);
    });
    worker.once('error', fail);
    worker.once('exit', (code) => {
      clearInterval(ticker);
      if (!settled) fail(new Error(`backup thread exited with code ${code}`));
    });
  });
}

export class SnapshotError extends Error {
  override name = 'SnapshotError';
  constructor(message: string, readonly code?: string) {
    super(message);
  }
}

export interface SnapshotOptions {
  source: string;
  backupsDir: string;
  reason: string;
  idempotencyKey?: string;
  now?: Date;
  /** Called about twice a second with bytes written so far and the expected total. */
  onProgress?: (progress: { bytes: number; totalBytes: number }) => void;
}

/**
 * Takes a verified backup. The copy is written to a hidden `.partial` file that never matches the
 * backup name pattern, so a crash or a full disk leaves nothing that counts as a backup.
 */
export async function takeSnapshot(options: SnapshotOptions): Promise<BackupManifest> {
  const { source, backupsDir } = options;
  assertSqliteFile(source, 'source database');
  fs.mkdirSync(backupsDir, { recursive: true });

  if (options.idempotencyKey) {
    const done = listBackups(backupsDir).find((b) => b.manifest?.idempotencyKey === options.idempotencyKey && b.verified);
    if (done) return done.manifest!;
  }

  const now = options.now ?? new Date();
  let name = backupName(now);
  for (let n = 2; fs.existsSync(path.join(backupsDir, name)); n++) name = backupName(now, n);
  const final = path.join(backupsDir, name);
  // A step killed mid-copy leaves its partial file; named by the step's key, the retry removes it.
  const partialId = options.idempotencyKey ? crypto.createHash('sha1').update(options.idempotencyKey).digest('hex').slice(0, 16) : name;
  const partial = path.join(backupsDir, `.${partialId}.partial`);
  for (const s of [...DATABASE_FILE_SUFFIXES, '-journal']) fs.rmSync(`${partial}${s}`, { force: true });

  const totalBytes = fs.statSync(source).size + sizeOf(`${source}-wal`);
  let result: ThreadResult;
  try {
    result = await copyInThread(source, partial, options.onProgress && ((bytes) => options.onProgress!({ bytes, totalBytes })));
  } catch (err) {
    fs.rmSync(partial, { force: true });
    fs.rmSync(`${partial}-journal`, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    const hint = code === 'SQLITE_FULL' || code === 'ENOSPC' ? ' (disk full: free space, e.g. with `atlas-ops disk-emergency`)' : '';
    throw new SnapshotError(`backup of ${source} failed: ${(err as Error).message}${hint}`, code);
  }
  if (result.integrity.length) {
    fs.rmSync(partial, { force: true });
    throw new SnapshotError(`backup of ${source} failed verification: ${result.integrity.slice(0, 3).join('; ')}`, 'SQLITE_CORRUPT');
  }

  // SQLite created it under the process umask; a backup is 0640 whatever that was (docs/safety.md#file-modes).
  fs.chmodSync(partial, MODE.file);
  fs.renameSync(partial, final);
  fsyncPath(backupsDir);
  const manifest: BackupManifest = {
    file: name,
    size: result.size,
    sha256: result.sha256,
    createdAt: now.toISOString(),
    source,
    reason: options.reason,
    idempotencyKey: options.idempotencyKey,
    verification: { ok: true, checkedAt: new Date().toISOString(), problems: [] },
    rowCounts: result.rowCounts,
    timings: { copyMs: result.copyMs, verifyMs: result.verifyMs, hashMs: result.hashMs },
  };
  writeFileDurably(manifestPath(final), `${JSON.stringify(manifest, null, 2)}\n`);
  fsyncPath(backupsDir);
  return manifest;
}

/** Re-checks a backup file: SQLite header and integrity_check. */
export function verifyBackupFile(file: string): string[] {
  try {
    assertSqliteFile(file, 'backup');
    return withDatabase(file, { readonly: true, privateFile: true }, (db) => integrityProblems(db));
  } catch (err) {
    return [(err as Error).message];
  }
}
