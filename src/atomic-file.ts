// A file replaced whole or not at all: written beside its target, fsynced, renamed over it, and the
// folder fsynced, so a crash leaves the old file or the new one, never half of either.
import fs from 'node:fs';
import path from 'node:path';
import { fsyncPath } from './db/sqlite';

export function writeFileAtomic(file: string, data: string | Buffer, mode: number): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    fs.fchmodSync(fd, mode);
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncPath(dir);
}
