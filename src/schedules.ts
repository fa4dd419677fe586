// Temporal Schedules replace the systemd timers (docs/architecture.md#schedules). This table is the one place
// that says which schedule starts which workflow; ids are `<scheduleIdPrefix><name>`.
import type { Client, ScheduleDescription, ScheduleSpec } from '@temporalio/client';
import { hostTaskQueue, type AtlasConfig, type ScheduleSetting } from './config';
import type { ScheduleName } from './workflow-safe/schedule-names';
import { temporalClient } from './temporal/sdk';

export interface ScheduleDef {
  name: ScheduleName;
  workflowType: string;
  setting: keyof Omit<AtlasConfig['schedules'], 'timezone'>;
  /** The legacy systemd timer this schedule replaces, for `migrate-timers`. */
  timer?: string;
  summary: string;
  /** Why this schedule cannot run with this configuration (it is then not created), or undefined. */
  unusable?: (config: AtlasConfig) => string | undefined;
}

export const SCHEDULES: readonly ScheduleDef[] = [
  { name: 'export', workflowType: 'sheetsExport', setting: 'export', timer: 'atlas-export.timer', summary: 'Export pending approvals to the sheet' },
  { name: 'import', workflowType: 'sheetsImport', setting: 'import', timer: 'atlas-import.timer', summary: 'Import decisions from the sheet' },
  { name: 'backup', workflowType: 'backup', setting: 'backup', timer: 'atlas-backup.timer', summary: 'Verified local backup of atlas.db' },
  { name: 'health', workflowType: 'healthCheck', setting: 'health', timer: 'atlas-health.timer', summary: 'Health check' },
  { name: 'weekly', workflowType: 'weeklyRoutine', setting: 'weekly', summary: 'Weekly routine' },
  { name: 'monthly', workflowType: 'monthlyRoutine', setting: 'monthly', summary: 'Monthly routine' },
  { name: 'key-rotation', workflowType: 'keyRotation', setting: 'keyRotation', summary: 'Quarterly key rotation' },
  { name: 'alerts-digest', workflowType: 'alertsDigest', setting: 'alertsDigest', summary: 'Daily digest of warnings' },
  {
    name: 'oci-backup', workflowType: 'ociBackup', setting: 'ociBackup', summary: 'OCI block-volume backup and its retention',
    unusable: (config) => (config.oci.volumeId ? undefined : 'oci.volumeId is not set (no volume to back up)'),
  },
];

export { SYNC_AND_BACKUP } from './workflow-safe/schedule-names';

export function scheduleId(config: Pick<AtlasConfig, 'scheduleIdPrefix'>, name: string): string {
  return `${config.scheduleIdPrefix}${name}`;
}

export function scheduleDef(name: string): ScheduleDef {
  const def = SCHEDULES.find((s) => s.name === name);
  if (!def) throw new Error(`schedule: "${name}" is not one of ${SCHEDULES.map((s) => s.name).join(', ')}`);
  return def;
}

/** Accepts a schedule's name ("export") or its id ("atlas-export"). */
export function resolveScheduleName(config: Pick<AtlasConfig, 'scheduleIdPrefix'>, nameOrId: string): ScheduleDef {
  const name = nameOrId.startsWith(config.scheduleIdPrefix) ? nameOrId.slice(config.scheduleIdPrefix.length) : nameOrId;
  return scheduleDef(name);
}

function specOf(setting: ScheduleSetting, timezone: string): ScheduleSpec {
  if (setting.kind === 'interval') return { intervals: [{ every: setting.every! }] };
  return { cronExpressions: [setting.cron!], timezone };
}

/** Whether applying the configuration creates or updates this schedule (a dry run asks too). */
export function scheduleApplies(def: ScheduleDef, config: AtlasConfig, registeredTypes: ReadonlySet<string>): boolean {
  return config.schedules[def.setting].kind !== 'off' && registeredTypes.has(def.workflowType) && !def.unusable?.(config);
}

export interface ApplyResult {
  created: string[];
  updated: string[];
  deleted: string[];
  /** Workflow types this worker does not have yet: no schedule that would fail every run. */
  skipped: { id: string; reason: string }[];
}

/**
 * A dev server restarted on its old state answers schedule calls with a ServiceError ("Failed to describe
 * schedule") for a few seconds while it reloads the scheduler workflows: wait that out, bounded, instead of
 * failing `atlas-ops dev`. Answers that mean something (not found, already running) are not retried.
 */
async function whileServerWarms<T>(call: () => Promise<T>, attempts = 10): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const { ServiceError, ScheduleNotFoundError } = temporalClient();
      if (!(err instanceof ServiceError) || err instanceof ScheduleNotFoundError || attempt >= attempts) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.min(500 * attempt, 3000)));
    }
  }
}

/** Creates or updates every schedule from the configuration. Idempotent; keeps paused state. */
export async function applySchedules(client: Client, config: AtlasConfig, registeredTypes: ReadonlySet<string>): Promise<ApplyResult> {
  const result: ApplyResult = { created: [], updated: [], deleted: [], skipped: [] };
  const hostQueue = hostTaskQueue(config);
  // All checked before anything changes: a refusal leaves every schedule as it was.
  const existing = new Map<string, ScheduleDescription>();
  for (const def of SCHEDULES) {
    const id = scheduleId(config, def.name);
    try {
      existing.set(id, await whileServerWarms(() => client.schedule.getHandle(id).describe()));
    } catch (err) {
      if (!(err instanceof temporalClient().ScheduleNotFoundError)) throw err;
    }
  }
  const taken = [...existing].flatMap(([id, d]) => {
    const owner = scheduleHostQueue(d);
    return owner !== undefined && owner !== hostQueue ? [`${id} (runs on ${owner})`] : [];
  });
  if (taken.length) throw new ScheduleOwnedByAnotherHost(config, taken);
  for (const def of SCHEDULES) {
    const id = scheduleId(config, def.name);
    const setting = config.schedules[def.setting];
    const handle = client.schedule.getHandle(id);
    const exists = existing.has(id);
    const unusable = def.unusable?.(config);
    if (!scheduleApplies(def, config, registeredTypes)) {
      if (exists && setting.kind === 'off') {
        await handle.delete();
        result.deleted.push(id);
      } else if (setting.kind !== 'off') {
        result.skipped.push({ id, reason: unusable ?? `workflow ${def.workflowType} is not implemented by this worker` });
      }
      continue;
    }
    const spec = specOf(setting, config.schedules.timezone);
    const action = {
      type: 'startWorkflow' as const,
      workflowType: def.workflowType,
      workflowId: id,
      taskQueue: config.taskQueue,
      // Each run's host steps on this host, whichever worker takes the workflow (docs/architecture.md#schedules).
      args: [{ hostQueue }],
      staticSummary: `${def.summary} (schedule ${id})`,
    };
    // SKIP: a slow run is never joined by a second one; a short catch-up window means a server that
    // was down for a day does not replay a day of syncs.
    const policies = { overlap: temporalClient().ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' as const };
    if (exists) {
      await whileServerWarms(() => handle.update((prev) => ({ ...prev, spec, action, policies })));
      result.updated.push(id);
    } else {
      try {
        await client.schedule.create({ scheduleId: id, spec, action, policies, state: { note: `created by atlas-ops from ${def.setting} = "${setting.text}"` } });
        result.created.push(id);
      } catch (err) {
        // Two starters racing: the other one created it; update to converge.
        if ((err as Error).name !== 'ScheduleAlreadyRunning') throw err;
        await handle.update((prev) => ({ ...prev, spec, action, policies }));
        result.updated.push(id);
      }
    }
  }
  return result;
}

/** The host queue a schedule's runs name (`args[0].hostQueue`); undefined for one made before schedules named it. */
function scheduleHostQueue(d: ScheduleDescription): string | undefined {
  const args = (d.action as { args?: unknown[] }).args;
  const first = args?.[0] as { hostQueue?: unknown } | undefined;
  return typeof first?.hostQueue === 'string' ? first.hostQueue : undefined;
}

/** Two Atlas hosts sharing a namespace with the same scheduleIdPrefix: one would take the other's schedules. */
export class ScheduleOwnedByAnotherHost extends Error {
  override name = 'ScheduleOwnedByAnotherHost';
  constructor(config: Pick<AtlasConfig, 'scheduleIdPrefix' | 'host'>, taken: string[]) {
    super(
      `schedules of another Atlas host have these ids: ${taken.join(', ')}. Give host ${config.host} its own scheduleIdPrefix ` +
        `(ATLAS_SCHEDULE_PREFIX=${config.scheduleIdPrefix}${config.host}-), so both hosts' schedules exist side by side; nothing was changed`,
    );
  }
}

export interface ScheduleRow {
  id: string;
  workflowType: string;
  spec: string;
  paused: boolean;
  note: string;
  running: number;
  nextRun?: string;
  lastRun?: string;
}

export function describeRow(id: string, d: ScheduleDescription): ScheduleRow {
  const action = d.action as { workflowType?: string };
  const spec = d.spec.intervals?.length
    ? `every ${Math.round(Number(d.spec.intervals[0]!.every) / 1000)}s`
    : (d.spec.calendars?.length ? 'calendar' : '') || 'custom';
  return {
    id,
    workflowType: action.workflowType ?? '?',
    spec,
    paused: d.state.paused,
    note: d.state.note ?? '',
    running: d.info.runningActions.length,
    nextRun: d.info.nextActionTimes[0]?.toISOString(),
    lastRun: d.info.recentActions.at(-1)?.takenAt.toISOString(),
  };
}

export async function listSchedules(client: Client, config: AtlasConfig): Promise<ScheduleRow[]> {
  const rows: ScheduleRow[] = [];
  for (const def of SCHEDULES) {
    const id = scheduleId(config, def.name);
    try {
      rows.push(describeRow(id, await client.schedule.getHandle(id).describe()));
    } catch (err) {
      if (!(err instanceof temporalClient().ScheduleNotFoundError)) throw err;
    }
  }
  return rows;
}
