// @ts-check
// Runs in a worker thread: copies a live SQLite database with the online backup API in ONE step,
// then verifies the copy. Plain JavaScript because worker threads do not inherit the TypeScript loader.
//
// Why one step: sqlite3_backup_step() restarts from page 1 whenever another connection (the Atlas
// app) writes between steps, so a stepped backup of a busy database never finishes. A single step
// holds one WAL read snapshot for the whole copy; in WAL mode that does not block the app's writers.
// A thread keeps the activity's event loop free for heartbeats while the step runs.
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const Database = require('better-sqlite3');

async function main() {
  const { source, target, mmapBytes } = workerData;
  const started = Date.now();
  const src = new Database(source, { readonly: true, fileMustExist: true });
  src.pragma('busy_timeout = 10000');
  let pages = 0;
  try {
    await src.backup(target, {
      progress: (p) => {
        pages = p.totalPages;
        return 0x7fffffff; // everything in the next step
      },
    });
  } finally {
    src.close();
  }
  const copiedAt = Date.now();

  // The copy inherits WAL mode from page 1; a backup must be one self-contained file.
  const copy = new Database(target, { fileMustExist: true });
  let problems;
  const rowCounts = {};
  let pageSize;
  try {
    copy.pragma('journal_mode = DELETE');
    // The copy is private to us: mapped, verification reads it faster (see privateFile in sqlite.ts).
    copy.pragma(`mmap_size = ${mmapBytes}`);
    // From here on the copy is only read: the parent hashes it while this thread checks it.
    parentPort?.postMessage({ copied: true });
    const rows = copy.prepare('PRAGMA integrity_check').pluck().all();
    problems = rows.length === 1 && rows[0] === 'ok' ? [] : rows.slice(0, 20);
    pageSize = copy.pragma('page_size', { simple: true });
    const tables = copy.prepare("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all();
    for (const t of tables) rowCounts[t] = copy.prepare(`SELECT count(*) FROM "${String(t).replace(/"/g, '""')}"`).pluck().get();
  } finally {
    copy.close();
  }
  const verifiedAt = Date.now();

  parentPort?.postMessage({
    ok: true,
    pages,
    pageSize,
    size: fs.statSync(target).size,
    integrity: problems,
    rowCounts,
    copyMs: copiedAt - started,
    verifyMs: verifiedAt - copiedAt,
  });
}

main().catch((err) => {
  parentPort?.postMessage({ ok: false, error: { message: err.message, code: err.code } });
});
