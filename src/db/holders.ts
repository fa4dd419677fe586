// Which processes hold a file open, read from /proc (the runbook's `ps aux | grep sqlite`, made
// precise). Used by `atlas-ops doctor db`; it only reports, it never signals a process.
import fs from 'node:fs';
import path from 'node:path';

export interface FileHolder {
  pid: number;
  command: string;
  files: string[];
}

export function processesHolding(files: readonly string[], procDir = '/proc'): FileHolder[] {
  const wanted = new Set(files.map((f) => path.resolve(f)));
  const holders: FileHolder[] = [];
  let pids: string[];
  try {
    pids = fs.readdirSync(procDir).filter((d) => /^\d+$/.test(d));
  } catch {
    return holders;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = fs.readdirSync(path.join(procDir, pid, 'fd'));
    } catch {
      continue; // gone, or not ours to read
    }
    const open = new Set<string>();
    for (const fd of fds) {
      try {
        const target = fs.readlinkSync(path.join(procDir, pid, 'fd', fd));
        if (wanted.has(target)) open.add(target);
      } catch {
        /* closed meanwhile */
      }
    }
    if (!open.size) continue;
    let command = '';
    try {
      command = fs.readFileSync(path.join(procDir, pid, 'cmdline'), 'utf8').split('\0').filter(Boolean).join(' ');
    } catch {
      /* gone */
    }
    holders.push({ pid: Number(pid), command: command.slice(0, 200), files: [...open].sort() });
  }
  return holders;
}
