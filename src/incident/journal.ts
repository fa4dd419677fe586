// Investigate's journald excerpts of the atlas units: `journalctl` through the command runner (tests
// put a recording stand-in first on PATH), each unit's excerpt bounded in lines and bytes, so the
// evidence file stays small whatever the journal holds.
import { replicaConfigured, type AtlasConfig } from '../config';
import { CommandNotFoundError, runCommand } from '../command-runner';

/** The worker's unit as deploy/systemd/ installs it. */
export const WORKER_UNIT = 'atlas-ops-worker.service';
/** Per unit: the newest lines at most, then the newest bytes at most. */
export const JOURNAL_LINES = 200;
export const JOURNAL_BYTES = 16 * 1024;

export interface JournalExcerpt {
  unit: string;
  /** The newest lines of the unit since the window's start (empty with a note when there is none). */
  text: string;
  lines: number;
  /** Lines were left out to keep the bounds. */
  truncated: boolean;
  note?: string;
}

/** The app's units, the worker's, and the replicator's when replication is configured. */
export function atlasUnits(config: Pick<AtlasConfig, 'app' | 'replica'>): string[] {
  return [...new Set([...config.app.units, WORKER_UNIT, ...(replicaConfigured(config) ? [config.replica.unit] : [])])];
}

/** The newest lines, then the newest bytes, cut at a line boundary. */
function bounded(stdout: string): { text: string; lines: number; truncated: boolean } {
  let lines = stdout.split('\n').filter((l) => l.length > 0);
  let truncated = lines.length > JOURNAL_LINES;
  lines = lines.slice(-JOURNAL_LINES);
  while (lines.length && Buffer.byteLength(lines.join('\n')) > JOURNAL_BYTES) {
    lines.shift();
    truncated = true;
  }
  return { text: lines.join('\n'), lines: lines.length, truncated };
}

export async function journalExcerpts(units: readonly string[], since: Date): Promise<JournalExcerpt[]> {
  const out: JournalExcerpt[] = [];
  for (const unit of units) {
    const args = ['--unit', unit, '--since', `@${Math.floor(since.getTime() / 1000)}`, '--no-pager', '--output', 'short-iso', '--lines', String(JOURNAL_LINES)];
    try {
      const r = await runCommand('journalctl', args, { timeoutMs: 30_000 });
      const excerpt = bounded(r.stdout);
      out.push({ unit, ...excerpt, ...(r.code === 0 ? {} : { note: `journalctl exited ${r.code}: ${r.stderr.trim().slice(0, 300)}` }) });
    } catch (err) {
      if (!(err instanceof CommandNotFoundError)) throw err;
      out.push({ unit, text: '', lines: 0, truncated: false, note: 'journalctl is not on this host: no journal excerpt' });
    }
  }
  return out;
}
