// integrity_check of a whole database without blocking the process: the check runs in a worker
// thread while `onTick` (an activity's heartbeat) keeps being called. A synchronous check of a
// database that takes longer than the activity's heartbeat timeout would be timed out and
// retried, forever, and would stall every other activity and workflow task of the worker meanwhile.
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { assertSqliteFile, PRIVATE_FILE_MMAP_BYTES, problemsOf } from './sqlite';

export interface IntegrityOptions {
  pragma?: 'integrity_check' | 'quick_check';
  /** Open read-only (the live atlas.db); false for a staging copy we are about to rename into place. */
  readonly?: boolean;
  /** Switch the file to WAL (a staging copy that will become atlas.db). */
  wal?: boolean;
  /** A file no other process writes: memory-mapped (see privateFile in sqlite.ts). */
  privateFile?: boolean;
  /** Called every second while the check runs. */
  onTick?: () => void;
  /** Field name for the error when the file is not SQLite. */
  field?: string;
}

export interface IntegrityResult {
  /** Empty when the database is sound. */
  problems: string[];
  journalMode: string;
}

export class IntegrityCheckError extends Error {
  override name = 'IntegrityCheckError';
  constructor(message: string, readonly code?: string) {
    super(message);
  }
}

export async function checkIntegrity(file: string, options: IntegrityOptions = {}): Promise<IntegrityResult> {
  assertSqliteFile(file, options.field ?? 'database');
  const worker = new Worker(path.join(__dirname, 'integrity-thread.js'), {
    workerData: {
      file,
      pragma: options.pragma ?? 'integrity_check',
      readonly: options.readonly ?? true,
      wal: options.wal ?? false,
      mmapBytes: options.privateFile ? PRIVATE_FILE_MMAP_BYTES : 0,
      busyTimeoutMs: 5000,
    },
  });
  return whileTicking(
    new Promise<IntegrityResult>((resolve, reject) => {
      worker.once('message', (msg: { ok: boolean; rows?: string[]; journalMode?: string; error?: { message: string; code?: string } }) => {
        if (!msg.ok) return reject(new IntegrityCheckError(msg.error?.message ?? 'integrity check failed', msg.error?.code));
        resolve({ problems: problemsOf(msg.rows ?? []), journalMode: msg.journalMode ?? '?' });
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new IntegrityCheckError(`integrity check thread exited with code ${code}`)));
    }),
    options.onTick,
  );
}

/** Awaits `work`, calling `onTick` (a heartbeat) every second until it settles. */
export async function whileTicking<T>(work: Promise<T>, onTick?: () => void): Promise<T> {
  const ticker = onTick ? setInterval(onTick, 1000) : undefined;
  try {
    return await work;
  } finally {
    if (ticker) clearInterval(ticker);
  }
}
