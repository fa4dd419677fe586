// A small real filesystem for disk-full tests: a sized tmpfs (tests run as root). When mounting is
// not permitted the caller skips with the reason instead of faking usage figures.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../src/db/sqlite';

export interface SmallFs {
  dir: string;
  unmount(): void;
}

export function mountTmpfs(sizeBytes: number): SmallFs {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-smallfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir]);
  return {
    dir,
    unmount() {
      execFileSync('umount', ['-l', dir]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Whether this machine lets the tests mount a tmpfs (root in a sandbox that allows it). */
export function canMountTmpfs(): boolean {
  try {
    mountTmpfs(1 << 20).unmount();
    return true;
  } catch {
    return false;
  }
}

/** Writes `bytes` of incompressible data (tmpfs stores pages, so any bytes count). */
export function fillFile(file: string, bytes: number): void {
  const fd = fs.openSync(file, 'w');
  try {
    const chunk = Buffer.alloc(1 << 20, 0x5a);
    for (let left = bytes; left > 0; left -= chunk.length) fs.writeSync(fd, chunk, 0, Math.min(chunk.length, left));
  } finally {
    fs.closeSync(fd);
  }
}

/** Grows a database by about 2 MB of incompressible rows (table `ballast`): something a full disk cannot hold twice. */
export function addBallast(file: string): void {
  const db = openDatabase(file, { wal: true });
  db.exec('CREATE TABLE IF NOT EXISTS ballast (id INTEGER PRIMARY KEY, data BLOB)');
  db.transaction(() => {
    for (let i = 0; i < 500; i++) db.prepare('INSERT INTO ballast (data) VALUES (randomblob(4000))').run();
  })();
  db.close();
}
