// A thin wrapper over better-sqlite3: how atlas-ops opens a database, in one place.
import fs from 'node:fs';
import Database from 'better-sqlite3';

export type Db = Database.Database;

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

export class NotSqliteError extends Error {
  override name = 'NotSqliteError';
}

/** Throws a clear error unless `file` exists and starts with the SQLite header. */
export function assertSqliteFile(file: string, field = 'database'): void {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw new NotSqliteError(`${field}: cannot open ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    const head = Buffer.alloc(16);
    const n = fs.readSync(fd, head, 0, 16, 0);
    // An empty file is a valid (empty) SQLite database to SQLite, but never an Atlas database.
    if (n < 16 || !head.equals(SQLITE_HEADER)) throw new NotSqliteError(`${field}: ${file} is not a SQLite database (bad header)`);
  } finally {
    fs.closeSync(fd);
  }
}

export interface OpenOptions {
  readonly?: boolean;
  /** Create the file when missing (only atlas-ops' own ops.db and the demo database). */
  create?: boolean;
  /** Switch to WAL; writers that must survive power loss also get synchronous=FULL. */
  wal?: boolean;
  busyTimeoutMs?: number;
  /**
   * A file no other process writes (a backup, a staging copy): memory-map it. Whole-file reads
   * such as integrity_check then skip a read() and a copy per page, about a third of their time
   * on 1 GB. Never for the live atlas.db: another process may truncate a mapped file under us.
   */
  privateFile?: boolean;
}

/**
 * A database as files, by the suffix of each name: the database and what SQLite keeps beside it
 * in WAL mode. They are moved, kept and removed together: a -wal without its database (or the
 * other way round) is a different database.
 */
export const DATABASE_FILE_SUFFIXES = ['', '-wal', '-shm'] as const;

/** Size of a file in bytes; 0 when it does not exist (a -wal after a clean close). */
export const sizeOf = (file: string): number => (fs.existsSync(file) ? fs.statSync(file).size : 0);

/** How much of a private file to map; SQLite caps it at its compile-time maximum (2 GB). */
export const PRIVATE_FILE_MMAP_BYTES = 4 * 1024 ** 3;

export function openDatabase(file: string, options: OpenOptions = {}): Db {
  // A new file is fine only where creating is allowed; an existing file must be SQLite either way.
  if (!options.create || (fs.existsSync(file) && fs.statSync(file).size > 0)) assertSqliteFile(file);
  const db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: !options.create });
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
  if (options.privateFile) db.pragma(`mmap_size = ${PRIVATE_FILE_MMAP_BYTES}`);
  if (options.wal && !options.readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
  }
  return db;
}

/** Runs fn with an open database and always closes it. */
export function withDatabase<T>(file: string, options: OpenOptions, fn: (db: Db) => T): T {
  const db = openDatabase(file, options);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** The rows of PRAGMA integrity_check or quick_check as problems: none when it answered "ok". */
export const problemsOf = (rows: string[]): string[] => (rows.length === 1 && rows[0] === 'ok' ? [] : rows);

/** PRAGMA integrity_check, as a list of problems (empty when the database is sound). */
export function integrityProblems(db: Db, pragma: 'integrity_check' | 'quick_check' = 'integrity_check'): string[] {
  return problemsOf(db.prepare(`PRAGMA ${pragma}`).pluck().all() as string[]);
}

/** Row counts of every user table, by name. */
export function rowCounts(db: Db): Record<string, number> {
  const tables = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .pluck()
    .all() as string[];
  const counts: Record<string, number> = {};
  for (const table of tables) {
    counts[table] = db.prepare(`SELECT count(*) FROM "${table.replace(/"/g, '""')}"`).pluck().get() as number;
  }
  return counts;
}

/** fsync a file or directory by path. */
export function fsyncPath(p: string): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** fsyncPath without blocking the event loop (a large file just copied can take a while). */
export async function fsyncPathAsync(p: string): Promise<void> {
  const handle = await fs.promises.open(p, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** SQLite error codes that mean the file itself is damaged (they start corruption recovery: docs/procedures.md#corruption-recovery). */
export function isCorruptionError(err: unknown): boolean {
  const code = (err as { code?: string })?.code ?? '';
  return code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB';
}
