// Activities of the disk emergency (the runbook's "Disk Space Emergency"): triage, log rotation,
// pruning backups, vacuuming the journal. Each step reports what it freed (or, in a dry run, what
// it would free); the workflow measures the filesystem itself after each step.
import fs from 'node:fs';
import path from 'node:path';
import { CommandNotFoundError, commandFailure, runCommand, which } from '../src/command-runner';
import { grant, JOURNAL_VACUUM_ARGS } from '../src/deployed-privileges';
import { diskUsage, largestEntries, type DiskUsage } from '../src/disk';
import { pruneBackups } from '../src/db/retention';
import { appendLog, rotateLog } from '../src/log';
import { startOnce } from '../src/temporal/start';
import type { diskEmergency } from '../workflows/disk-emergency';
import { DISK_EMERGENCY } from '../src/workflow-safe/singletons';
import { Context } from '@temporalio/activity';
import type { ActivityContext } from './deps';

export interface DiskMeasure extends DiskUsage {
  /** thresholds.diskPercent: where the emergency may stop. */
  thresholdPercent: number;
  criticalPercent: number;
}

export interface DiskTriage extends DiskMeasure {
  largest: { path: string; bytes: number }[];
  logs: { file: string; bytes: number }[];
}

export interface StepReport {
  /** Bytes the step freed by its own count (a dry run: would free). */
  claimedBytes: number;
  dryRun: boolean;
  details: string[];
}

/** Rotated generations of a log: name.log.1, name.log.2, … (and compressed ones logrotate leaves). */
const ROTATED = /\.log\.\d+(\.gz)?$/;

export function createDiskActivities(ctx: ActivityContext) {
  const { paths } = ctx;
  const measure = (): DiskMeasure => ({
    ...diskUsage(paths.home),
    thresholdPercent: ctx.config.thresholds.diskPercent,
    criticalPercent: ctx.config.thresholds.diskCriticalPercent,
  });
  const log = (record: Record<string, unknown>) => {
    try {
      appendLog(paths.log('health'), record);
    } catch {
      /* the disk may be too full to log; the workflow history still has it */
    }
  };

  return {
    async measureDisk(): Promise<DiskMeasure> {
      return measure();
    },

    async diskTriage(): Promise<DiskTriage> {
      const logs = fs.existsSync(paths.logsDir)
        ? fs.readdirSync(paths.logsDir).map((f) => ({ file: f, bytes: fs.statSync(path.join(paths.logsDir, f)).size })).sort((a, b) => b.bytes - a.bytes)
        : [];
      return { ...measure(), largest: largestEntries(paths.home), logs };
    },

    /**
     * `logrotate -f <atlas config>` when that config and logrotate exist, with the state file under
     * the home (the system's, in /var/lib, is read-only to the deployed worker); otherwise atlas-ops'
     * own rotation, which in an emergency keeps only the current file of each log (as .1).
     */
    async rotateLogsNow(input: { dryRun: boolean }): Promise<StepReport> {
      const config = ctx.config.diskEmergency.logrotateConfig;
      const rotated = fs.existsSync(paths.logsDir) ? fs.readdirSync(paths.logsDir).filter((f) => ROTATED.test(f)) : [];
      const rotatedBytes = rotated.reduce((n, f) => n + fs.statSync(path.join(paths.logsDir, f)).size, 0);
      if (config && fs.existsSync(config) && which('logrotate')) {
        const args = ['-f', '-s', paths.logrotateState, config];
        if (input.dryRun) return { claimedBytes: rotatedBytes, dryRun: true, details: [`would run logrotate ${args.join(' ')} (rotated logs now: ${rotatedBytes} bytes)`] };
        fs.mkdirSync(paths.runDir, { recursive: true });
        const r = await runCommand('logrotate', args, { timeoutMs: 5 * 60_000 });
        if (r.code !== 0) throw commandFailure(r, grant.logrotate(config, paths.home));
        return { claimedBytes: 0, dryRun: false, details: [`logrotate ${args.join(' ')}`] };
      }
      if (input.dryRun) return { claimedBytes: rotatedBytes, dryRun: true, details: [`would remove ${rotated.length} rotated log file(s): ${rotated.join(', ') || 'none'}`] };
      let freed = 0;
      for (const f of rotated) {
        if (/\.log\.1$/.test(f)) continue; // rotateLog(file, 1) below drops it
        freed += fs.statSync(path.join(paths.logsDir, f)).size;
        fs.rmSync(path.join(paths.logsDir, f), { force: true });
      }
      for (const f of fs.readdirSync(paths.logsDir).filter((n) => n.endsWith('.log'))) freed += rotateLog(path.join(paths.logsDir, f), 1);
      log({ event: 'disk-emergency-rotated-logs', freedBytes: freed });
      return { claimedBytes: freed, dryRun: false, details: [`atlas-ops rotation: removed ${rotated.length} rotated file(s), rotated the current logs`] };
    },

    /** The runbook's "keep only 3 most recent", by retention's rules: never the newest verified. */
    async pruneBackupsForSpace(input: { dryRun: boolean; keep?: number }): Promise<StepReport> {
      const keep = input.keep ?? ctx.config.diskEmergency.keepBackups;
      const r = await pruneBackups(paths.backupsDir, keep, { dryRun: input.dryRun, onTick: () => Context.current().heartbeat({ checking: 'backups without a manifest' }) });
      if (!input.dryRun) appendLog(paths.log('backup'), { event: 'disk-emergency-prune', keep, removed: r.removed, keptUnverifiable: r.keptUnverifiable, bytesFreed: r.bytesFreed });
      const unverifiable = r.keptUnverifiable.map((u) => `${u.name}: ${u.problem}`);
      return { claimedBytes: r.bytesFreed, dryRun: input.dryRun, details: [`${input.dryRun ? 'would remove' : 'removed'} ${r.removed.length} backup(s) (${r.removed.join(', ') || 'none'}), keeping ${r.kept.join(', ') || 'none'}`, ...(unverifiable.length ? [`kept without a manifest, failing integrity_check: ${unverifiable.join('; ')}`] : [])] };
    },

    /**
     * `journalctl --vacuum-time=1d` (JOURNAL_VACUUM_ARGS) through the command runner; a host without journald is no failure.
     * A worker that may not vacuum itself (the deployed unit) starts diskEmergency.journalVacuumUnit,
     * which runs the same command as root; the workflow measures what it freed.
     */
    async vacuumJournal(input: { dryRun: boolean }): Promise<StepReport> {
      const unit = ctx.config.diskEmergency.journalVacuumUnit;
      const vacuum = ['journalctl', ...JOURNAL_VACUUM_ARGS].join(' ');
      try {
        if (input.dryRun) {
          const r = await runCommand('journalctl', ['--disk-usage']);
          return { claimedBytes: 0, dryRun: true, details: [`would run ${unit ? `systemctl start ${unit} (${vacuum} as root)` : vacuum}; ${r.stdout.trim().split('\n').at(-1) ?? ''}`] };
        }
        if (unit) {
          const r = await runCommand('systemctl', ['start', unit], { timeoutMs: 5 * 60_000 });
          if (r.code !== 0) throw commandFailure(r, grant.systemctl(unit));
          return { claimedBytes: 0, dryRun: false, details: [`systemctl start ${unit}: journal vacuumed by the unit (its output is in its own journal)`] };
        }
        const r = await runCommand('journalctl', JOURNAL_VACUUM_ARGS, { timeoutMs: 5 * 60_000 });
        if (r.code !== 0) throw commandFailure(r, grant.journalVacuum);
        const freed = /freed\s+([\d.]+)([KMGT]?)B?/i.exec(`${r.stdout}\n${r.stderr}`);
        const scale = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[(freed?.[2] ?? '').toUpperCase() as '' | 'K' | 'M' | 'G' | 'T'] ?? 1;
        return { claimedBytes: freed ? Math.round(Number(freed[1]) * scale) : 0, dryRun: false, details: [(r.stderr || r.stdout).trim().split('\n').at(-1) ?? vacuum] };
      } catch (err) {
        if (err instanceof CommandNotFoundError) return { claimedBytes: 0, dryRun: input.dryRun, details: [`${err.message}: no journal to vacuum on this host`] };
        throw err;
      }
    },

    /** For the health check: starts the disk emergency (once) when usage is above the critical threshold. */
    async diskEmergencyIfCritical(input: { trigger: string }): Promise<{ usedPercent: number; started?: string }> {
      const m = measure();
      if (m.usedPercent <= m.criticalPercent) return { usedPercent: m.usedPercent };
      const s = await startOnce<typeof diskEmergency>(ctx.client, ctx.config, 'diskEmergency', DISK_EMERGENCY, { trigger: input.trigger }, `Disk emergency: ${m.usedPercent}% used`);
      return { usedPercent: m.usedPercent, started: s.workflowId };
    },
  };
}
