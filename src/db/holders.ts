// Which processes hold a file open, read from /proc (the runbook's `ps aux | grep sqlite`, made
// precise). Used by `atlas-ops doctor db`; it only reports, it never signals a process.
import path from 'node:path';
import { processesWithOpen } from '../proc';

export interface FileHolder {
  pid: number;
  command: string;
  files: string[];
}

export function processesHolding(files: readonly string[], procDir = '/proc'): FileHolder[] {
  const wanted = new Set(files.map((f) => path.resolve(f)));
  return processesWithOpen((target) => wanted.has(target), procDir).map(({ pid, command, targets }) => ({ pid, command, files: targets }));
}
