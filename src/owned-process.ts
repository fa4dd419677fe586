// Processes atlas-ops starts and stops later, from another activity or another worker (sqlite-web):
// it signals only a process it can prove it started (docs/safety.md#processes-atlas-ops-stops).
// A pid alone proves nothing (a pid file can be edited, and pids are reused), so the record holds
// the pid, its start time (field 22 of /proc/<pid>/stat) and its command line, and every one must
// match /proc before a signal is sent. The record is written 0600.
import fs from 'node:fs';
import path from 'node:path';
import { MODE } from './file-modes';
import { procCmdline, procStat } from './proc';

export interface ProcessRecord {
  pid: number;
  startTime: string;
  /** Recorded once the process has settled (a launcher such as a pyenv shim execs the real program under the same pid). */
  cmdline?: string[];
}

export type Ownership =
  | { state: 'ours'; record: ProcessRecord }
  | { state: 'gone'; record?: ProcessRecord }
  | { state: 'unproven'; pid?: number; reason: string };

/** What names `pid` for as long as it runs: its start time, and with `settled` its command line. */
export function processRecord(pid: number, where: string, options: { settled?: boolean } = {}): ProcessRecord {
  const stat = procStat(pid);
  if (!stat) throw new Error(`pid ${pid} is not running: nothing to record in ${where}`);
  return { pid, startTime: stat.startTime, ...(options.settled ? { cmdline: procCmdline(pid) } : {}) };
}

/** Writes the record for a process just started (atomically, mode 0600); `settled`: record its command line too. */
export function recordProcess(file: string, pid: number, options: { settled?: boolean } = {}): ProcessRecord {
  const record = processRecord(pid, file, options);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: MODE.dir });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(record)}\n`, { mode: MODE.secret });
  fs.chmodSync(tmp, MODE.secret);
  fs.renameSync(tmp, file);
  return record;
}

/** What a pid file says, checked against /proc. No file: `gone` without a record. */
export function ownershipOf(file: string): Ownership {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return { state: 'gone' };
  }
  const bare = /^\s*(\d+)\s*$/.exec(text)?.[1];
  if (bare) return { state: 'unproven', pid: Number(bare), reason: `${file} holds no start time (a bare pid proves nothing)` };
  let record: ProcessRecord;
  try {
    record = JSON.parse(text) as ProcessRecord;
  } catch {
    return { state: 'unproven', reason: `${file} is not a process record atlas-ops wrote` };
  }
  return ownershipOfRecord(record, file);
}

/** A process record (read from `file`) checked against /proc. */
export function ownershipOfRecord(record: ProcessRecord, file: string): Ownership {
  if (!Number.isInteger(record?.pid) || record.pid <= 1 || typeof record.startTime !== 'string') {
    return { state: 'unproven', reason: `${file} is not a process record atlas-ops wrote` };
  }
  const stat = procStat(record.pid);
  if (!stat || stat.state === 'Z') return { state: 'gone', record };
  if (stat.startTime !== record.startTime) {
    // The pid was reused, or the file was edited: either way, not the process we started.
    return { state: 'unproven', pid: record.pid, reason: `pid ${record.pid} started at tick ${stat.startTime}, not ${record.startTime} as ${file} records` };
  }
  if (record.cmdline) {
    const now = procCmdline(record.pid);
    if (!now || now.join('\0') !== record.cmdline.join('\0')) {
      return { state: 'unproven', pid: record.pid, reason: `pid ${record.pid} runs "${(now ?? []).join(' ')}", not "${record.cmdline.join(' ')}" as ${file} records` };
    }
  }
  return { state: 'ours', record };
}

/**
 * The recorded process has not finished exiting (same pid and start time, not a zombie). Not
 * `ownershipOf`: an exiting process's command line reads empty while it still holds its sockets.
 */
function stillRuns(record: ProcessRecord): boolean {
  const stat = procStat(record.pid);
  return stat !== undefined && stat.state !== 'Z' && stat.startTime === record.startTime;
}

function signalOwned(file: string, record: ProcessRecord, signal: NodeJS.Signals): void {
  // Checked again right before each signal: the process may have exited and its pid been reused.
  const now = ownershipOf(file);
  if (now.state !== 'ours' || now.record.pid !== record.pid) return;
  // Started detached, it leads its own group: the group takes its children with it.
  const target = procStat(record.pid)?.pgid === record.pid ? -record.pid : record.pid;
  try {
    process.kill(target, signal);
  } catch {
    /* exited meanwhile */
  }
}

export interface StopResult {
  /** stopped: ours, and now ended; gone: nothing of ours was running; unproven: left alone (`reason` says why). */
  outcome: 'stopped' | 'gone' | 'unproven';
  pid?: number;
  reason?: string;
}

/**
 * Stops the process a pid file names if it is provably ours (SIGTERM, then SIGKILL after `graceMs`),
 * and removes the file; a process it cannot prove ours is never signalled.
 */
export async function stopRecordedProcess(file: string, graceMs = 5000): Promise<StopResult> {
  const owner = ownershipOf(file);
  let result: StopResult;
  if (owner.state === 'ours') {
    const { record } = owner;
    signalOwned(file, record, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && stillRuns(record)) await new Promise((r) => setTimeout(r, 100));
    signalOwned(file, record, 'SIGKILL');
    for (let i = 0; i < 50 && stillRuns(record); i++) await new Promise((r) => setTimeout(r, 100));
    result = { outcome: 'stopped', pid: record.pid };
  } else if (owner.state === 'gone') {
    result = { outcome: 'gone', pid: owner.record?.pid };
  } else {
    result = { outcome: 'unproven', pid: owner.pid, reason: owner.reason };
  }
  // The file named nothing of ours any more (or never did): a later start must not trust it either.
  fs.rmSync(file, { force: true });
  return result;
}
