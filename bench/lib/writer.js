// @ts-check
// The Atlas app's stand-in for benchmarks: a separate process writing to atlas.db at a steady rate
// (better-sqlite3, WAL, synchronous=FULL), recording how long each write took and how late it
// started. Rate "max" writes back to back: the sustained write rate the disk allows. "reset"
// restarts the figures; on "stop" it answers with them and exits.
/* global performance, setImmediate */
'use strict';
const Database = require('better-sqlite3');

const [file, rateArg] = process.argv.slice(2);
const flatOut = rateArg === 'max';
const rate = flatOut ? Infinity : Number(rateArg || 150);
const db = new Database(file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('busy_timeout = 10000');
const insert = db.prepare("INSERT INTO errors (at, source, level, message) VALUES (?, 'bench', 'info', ?)");

const interval = 1000 / rate;
let started = performance.now();
let n = 0;
let worstWriteMs = 0;
let worstLateMs = 0;
const slow = [];

function tick() {
  const t0 = performance.now();
  if (!flatOut) worstLateMs = Math.max(worstLateMs, t0 - (started + n * interval));
  insert.run(new Date().toISOString(), `bench write ${n}`);
  const took = performance.now() - t0;
  if (took > worstWriteMs) worstWriteMs = took;
  if (took > 50) slow.push(Math.round(took));
  n++;
  // setImmediate, not a loop: the "stop" message must get through between writes.
  if (flatOut) setImmediate(tick);
  else setTimeout(tick, Math.max(0, started + n * interval - performance.now()));
}

process.on('message', (msg) => {
  // "reset": count from now on (the parent starts the thing it measures).
  if (msg === 'reset') {
    started = performance.now();
    n = 0;
    worstWriteMs = 0;
    worstLateMs = 0;
    slow.length = 0;
    return;
  }
  if (msg !== 'stop') return;
  const seconds = (performance.now() - started) / 1000;
  process.send?.({ writes: n, seconds, writesPerSecond: n / seconds, worstWriteMs, worstLateMs, writesOver50ms: slow.length, slowest: slow.sort((a, b) => b - a).slice(0, 5) }, () => {
    db.close();
    process.exit(0);
  });
});
process.send?.('ready');
tick();
