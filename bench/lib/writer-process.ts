// The app's stand-in (bench/lib/writer.js) as a child process: started, measured, stopped.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export interface WriterStats {
  writes: number;
  seconds: number;
  writesPerSecond: number;
  worstWriteMs: number;
  worstLateMs: number;
  writesOver50ms: number;
  slowest: number[];
}

/** A writer committing to `file` at `writeRate` a second ("max": back to back), counting from when this resolves. */
export function startWriter(file: string, writeRate: number | 'max'): Promise<ChildProcess> {
  const child = fork(path.join(__dirname, 'writer.js'), [file, String(writeRate)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve) =>
    child.once('message', () =>
      setTimeout(() => {
        child.send('reset');
        resolve(child);
      }, 1000),
    ),
  );
}

/** Stops the writer; its figures since the start (or the last reset). */
export function stopWriter(child: ChildProcess): Promise<WriterStats> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as WriterStats));
    child.send('stop');
  });
}
