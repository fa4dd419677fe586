// The runbook's "database is locked": who holds atlas.db open (from /proc), the journal mode, whether
// the write lock is free, and WAL switched back on when no other process has the file open.
// It never kills a process: it says which one and what to do.
import { databaseHolders, type FileHolder } from './holders';
import { withDatabase } from './sqlite';

export interface DbDoctorReport {
  file: string;
  holders: FileHolder[];
  journalMode?: string;
  walSwitchedOn: boolean;
  writeLock: 'free' | 'held' | 'unknown';
  error?: string;
  advice: string[];
  /** True when nothing needs a person. */
  ok: boolean;
}

export function diagnoseDatabase(file: string, ignorePid = process.pid): DbDoctorReport {
  const holders = databaseHolders(file, ignorePid);
  const report: DbDoctorReport = { file, holders, walSwitchedOn: false, writeLock: 'unknown', advice: [], ok: false };
  try {
    withDatabase(file, { busyTimeoutMs: 1000 }, (conn) => {
      report.journalMode = conn.pragma('journal_mode', { simple: true }) as string;
      try {
        conn.exec('BEGIN IMMEDIATE');
        conn.exec('ROLLBACK');
        report.writeLock = 'free';
      } catch {
        report.writeLock = 'held';
      }
      // Switching to WAL needs the database to itself: only when no other process has it open.
      if (report.journalMode !== 'wal' && holders.length === 0) {
        report.journalMode = conn.pragma('journal_mode = WAL', { simple: true }) as string;
        report.walSwitchedOn = report.journalMode === 'wal';
      }
    });
  } catch (err) {
    report.error = (err as Error).message;
    report.advice.push('atlas.db cannot be opened: run atlas-ops db check, then atlas-ops recover corruption');
  }
  if (report.journalMode && report.journalMode !== 'wal') report.advice.push(`journal mode is ${report.journalMode}; stop the processes below, then run atlas-ops doctor db again to switch WAL on`);
  if (report.writeLock === 'held') report.advice.push('a writer holds the lock: if one of the processes below hangs, stop it yourself (kill <pid>); atlas-ops never kills processes');
  report.ok = !report.error && report.writeLock === 'free' && report.journalMode === 'wal';
  return report;
}
