// Real corruption of real files, the ways it happens: garbage over pages, a truncated file, a
// zeroed header, a damaged WAL frame, a WAL deleted beside its database.
import fs from 'node:fs';
import { openDatabase } from '../../src/db/sqlite';

const PAGE = 4096;

function pageSize(file: string): number {
  const head = Buffer.alloc(18);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, head, 0, 18, 0);
  fs.closeSync(fd);
  const n = head.readUInt16BE(16);
  return n === 1 ? 65536 : n || PAGE;
}

function overwrite(file: string, offset: number, data: Buffer): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.writeSync(fd, data, 0, data.length, offset);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Pseudo-random bytes (deterministic, so a failing test can be replayed). */
function garbage(length: number, seed = 7): Buffer {
  const b = Buffer.alloc(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b[i] = x >>> 16;
  }
  return b;
}

/** Garbage over `count` interior pages (never page 1), from the middle of the file. */
export function garbageOverPages(file: string, count = 3): void {
  const size = pageSize(file);
  const pages = Math.floor(fs.statSync(file).size / size);
  const first = Math.max(2, Math.floor(pages / 2));
  for (let p = first; p < Math.min(pages, first + count); p++) overwrite(file, p * size, garbage(size, p));
}

export function truncateFile(file: string, share = 0.4): void {
  fs.truncateSync(file, Math.floor(fs.statSync(file).size * share));
}

export function zeroHeader(file: string): void {
  overwrite(file, 0, Buffer.alloc(100));
}

/**
 * Leaves `db` with `commits` committed transactions in its WAL and none in the main file, as after
 * a crash before any checkpoint. Each commit inserts one `errors` row with message `mark-<i>`,
 * followed by `padBytes` of filler when a test needs a WAL that takes a while to checkpoint.
 */
export function leaveCommitsInWal(db: string, commits: number, padBytes = 0): void {
  const copy = `${db}.wal-scratch`;
  const conn = openDatabase(db, { wal: true });
  try {
    conn.pragma('wal_autocheckpoint = 0');
    const insert = conn.prepare("INSERT INTO errors (at, source, level, message) VALUES ('2026-01-01T00:00:00Z', 'test', 'info', ?)");
    const pad = padBytes ? ` ${'x'.repeat(padBytes)}` : '';
    for (let i = 1; i <= commits; i++) insert.run(`mark-${i}${pad}`);
    // The main file is untouched while the connection is open: copy it and its WAL as they are.
    fs.copyFileSync(db, copy);
    fs.copyFileSync(`${db}-wal`, `${copy}-wal`);
  } finally {
    conn.close();
  }
  fs.rmSync(`${db}-shm`, { force: true });
  fs.renameSync(copy, db);
  fs.renameSync(`${copy}-wal`, `${db}-wal`);
}

/** Garbage over the page data of the WAL's last frame: its checksum fails, so the last commit is lost. */
export function corruptLastWalFrame(db: string): void {
  const wal = `${db}-wal`;
  const size = pageSize(db);
  const frame = 24 + size;
  const frames = Math.floor((fs.statSync(wal).size - 32) / frame);
  overwrite(wal, 32 + (frames - 1) * frame + 24 + 100, garbage(512, 3));
}

export function marks(db: string): number {
  const conn = openDatabase(db, { readonly: true });
  try {
    return conn.prepare("SELECT count(*) FROM errors WHERE message LIKE 'mark-%'").pluck().get() as number;
  } finally {
    conn.close();
  }
}
