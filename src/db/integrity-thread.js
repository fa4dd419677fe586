// @ts-check
// Runs PRAGMA integrity_check (or quick_check) in a worker thread, so the activity that asked keeps
// its event loop, and with it its heartbeats, while a large database is read end to end. Plain
// JavaScript because worker threads do not inherit the TypeScript loader.
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const Database = require('better-sqlite3');

/** @type {{ file: string, pragma: string, readonly: boolean, wal: boolean, mmapBytes: number, busyTimeoutMs: number }} */
const { file, pragma, readonly, wal, mmapBytes, busyTimeoutMs } = workerData;
let result;
try {
  const db = new Database(file, { readonly, fileMustExist: true });
  try {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    if (wal) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
    }
    if (mmapBytes) db.pragma(`mmap_size = ${mmapBytes}`);
    result = { ok: true, rows: db.prepare(`PRAGMA ${pragma}`).pluck().all(), journalMode: db.pragma('journal_mode', { simple: true }) };
  } finally {
    db.close();
  }
  // Only after close: closing a WAL connection checkpoints and removes the -wal and -shm, and the
  // caller renames or reads the file as soon as it has the answer.
  parentPort?.postMessage(result);
} catch (err) {
  const e = /** @type {{ message: string, code?: string }} */ (err);
  parentPort?.postMessage({ ok: false, error: { message: e.message, code: e.code } });
}
