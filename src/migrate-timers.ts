// From the legacy systemd timers to Temporal Schedules, so that nothing runs twice: every
// `atlas-*.timer` whose schedule this worker will create is stopped, disabled and masked (masked so
// that no package upgrade or stray `systemctl enable` brings it back), then the schedules are
// applied. A timer whose replacement would not exist (workflow not implemented here, or its
// schedule set to `off`) keeps running: migrating it would silently stop that job.
import type { Client } from '@temporalio/client';
import type { AtlasConfig } from './config';
import { runCommand, which, type CommandResult } from './command-runner';
import { SCHEDULES, applySchedules, scheduleApplies, scheduleId, type ApplyResult } from './schedules';

export interface TimerPlan {
  unit: string;
  /** Its state from `systemctl list-unit-files`: enabled, disabled, masked, static, … */
  state: string;
  /** The schedule that replaces it, when there is one. */
  schedule?: string;
  action: 'migrate' | 'already-masked' | 'keep';
  reason: string;
}

export interface MigrationReport {
  systemd: boolean;
  dryRun: boolean;
  timers: TimerPlan[];
  /** systemctl commands run (or, with --dry-run, that would run). */
  commands: string[];
  failed?: { command: string; code: number | null; stderr: string };
  schedules?: ApplyResult;
  /** Schedules a dry run would create or update. */
  wouldApply?: string[];
  message: string;
}

export class NoSystemdError extends Error {
  override name = 'NoSystemdError';
}

async function systemctl(args: string[], env: NodeJS.ProcessEnv): Promise<CommandResult> {
  return runCommand('systemctl', args, { env, timeoutMs: 60_000 });
}

/** The legacy timers present on this host: the ones SCHEDULES names and any other atlas-*.timer. */
async function installedTimers(env: NodeJS.ProcessEnv): Promise<Map<string, string>> {
  const r = await systemctl(['list-unit-files', '--no-legend', '--plain', '--type=timer', 'atlas-*.timer'], env);
  if (r.code !== 0) throw new Error(`systemctl list-unit-files failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  const units = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const [unit, state] = line.trim().split(/\s+/);
    if (unit?.endsWith('.timer')) units.set(unit, state ?? 'unknown');
  }
  return units;
}

export function planTimers(config: AtlasConfig, installed: Map<string, string>, registeredTypes: ReadonlySet<string>): TimerPlan[] {
  const plans: TimerPlan[] = [];
  for (const [unit, state] of installed) {
    const def = SCHEDULES.find((s) => s.timer === unit);
    if (!def) {
      plans.push({ unit, state, action: 'keep', reason: 'no atlas-ops schedule replaces it; left alone' });
      continue;
    }
    const schedule = scheduleId(config, def.name);
    if (config.schedules[def.setting].kind === 'off') {
      plans.push({ unit, state, schedule, action: 'keep', reason: `schedules.${def.setting} is off, so nothing would replace it` });
    } else if (!registeredTypes.has(def.workflowType)) {
      plans.push({ unit, state, schedule, action: 'keep', reason: `workflow ${def.workflowType} is not implemented by this worker yet` });
    } else if (state === 'masked') {
      plans.push({ unit, state, schedule, action: 'already-masked', reason: `already masked; ${schedule} replaces it` });
    } else {
      plans.push({ unit, state, schedule, action: 'migrate', reason: `replaced by schedule ${schedule}` });
    }
  }
  return plans;
}

export interface MigrateOptions {
  dryRun?: boolean;
  registeredTypes: ReadonlySet<string>;
  /** Environment for the systemctl lookups (tests put a recording stand-in first on PATH). */
  env?: NodeJS.ProcessEnv;
}

export async function migrateTimers(client: Client | undefined, config: AtlasConfig, options: MigrateOptions): Promise<MigrationReport> {
  const env = options.env ?? process.env;
  const dryRun = options.dryRun === true;
  if (!which('systemctl', env)) {
    throw new NoSystemdError('systemctl is not on PATH: this host has no systemd, so there are no timers to migrate. Nothing was changed (schedules not applied either; run `atlas-ops schedules apply` for them).');
  }
  const timers = planTimers(config, await installedTimers(env), options.registeredTypes);
  const report: MigrationReport = { systemd: true, dryRun, timers, commands: [], message: '' };
  const toMigrate = timers.filter((t) => t.action === 'migrate');
  for (const timer of toMigrate) {
    for (const verb of ['stop', 'disable', 'mask']) {
      const command = `systemctl ${verb} ${timer.unit}`;
      report.commands.push(command);
      if (dryRun) continue;
      const r = await systemctl([verb, timer.unit], env);
      if (r.code !== 0) {
        report.failed = { command, code: r.code, stderr: r.stderr.trim() };
        report.message =
          `${command} failed (exit ${r.code}): ${r.stderr.trim()}. Schedules were not applied, so nothing runs twice; ` +
          'fix the cause (root is needed) and run `atlas-ops migrate-timers` again (it is idempotent).';
        return report;
      }
    }
  }
  const kept = timers.filter((t) => t.action === 'keep');
  if (dryRun) {
    report.wouldApply = SCHEDULES.filter((d) => scheduleApplies(d, config, options.registeredTypes)).map((d) => scheduleId(config, d.name));
    report.message = `dry run: would migrate ${toMigrate.length} timer(s) and apply ${report.wouldApply.length} schedule(s); nothing was changed`;
    return report;
  }
  if (!client) throw new Error('a Temporal client is needed to apply the schedules');
  report.schedules = await applySchedules(client, config, options.registeredTypes);
  report.message = `migrated ${toMigrate.length} timer(s)${kept.length ? `, kept ${kept.length} running` : ''}; schedules applied`;
  return report;
}
