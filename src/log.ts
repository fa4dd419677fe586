// Per-job logs under <home>/logs (the runbook's names): one JSON object a line, rotated by size so a
// busy job cannot fill the disk on its own. Secrets never reach here: callers log ids and counts.
import fs from 'node:fs';
import path from 'node:path';
import { MODE } from './file-modes';

export const LOG_MAX_BYTES = 10 << 20;
export const LOG_KEEP = 5;

/** Moves name.log → name.log.1 → … → name.log.<keep>; returns the bytes of the files dropped. */
export function rotateLog(file: string, keep = LOG_KEEP): number {
  let freed = 0;
  const oldest = `${file}.${keep}`;
  if (fs.existsSync(oldest)) {
    freed += fs.statSync(oldest).size;
    fs.rmSync(oldest);
  }
  for (let i = keep - 1; i >= 1; i--) {
    if (fs.existsSync(`${file}.${i}`)) fs.renameSync(`${file}.${i}`, `${file}.${i + 1}`);
  }
  if (fs.existsSync(file)) fs.renameSync(file, `${file}.1`);
  return freed;
}

export function appendLog(file: string, record: Record<string, unknown>): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  try {
    if (fs.statSync(file).size > LOG_MAX_BYTES) rotateLog(file);
  } catch {
    /* no file yet */
  }
  fs.appendFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), ...record })}\n`, { mode: MODE.file });
}
