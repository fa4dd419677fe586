// Schedule names that workflow code needs too; kept free of I/O imports so workflows can import it.

/** The schedules that touch atlas.db and are paused while it is being changed (the runbook's "Pause Workers"). */
export const SYNC_AND_BACKUP = ['export', 'import', 'backup'] as const;

/** Every schedule atlas-ops manages. src/schedules.ts defines each. */
export const ALL_SCHEDULES = ['export', 'import', 'backup', 'health', 'weekly', 'monthly', 'key-rotation', 'alerts-digest', 'oci-backup'] as const;
export type ScheduleName = (typeof ALL_SCHEDULES)[number];

/** What incident containment pauses: every automated job but monitoring (health checks and the digest keep running). */
export const CONTAINED_BY_INCIDENT = ['export', 'import', 'backup', 'weekly', 'monthly', 'key-rotation'] as const;

/**
 * What corruption recovery pauses: the schedules whose runs read or write atlas.db. Monitoring
 * (`health`, `alerts-digest`) never pauses for a recovery, so a recovery that waits still pages
 * (docs/safety.md#monitoring-never-pauses-for-a-recovery); key rotation does not open atlas.db.
 * `oci-backup` snapshots the volume that holds atlas.db: a backup of a corrupt volume, and the
 * retention after it, must not run while Option C may need the older good ones.
 */
export const TOUCHING_ATLAS_DB = ['export', 'import', 'backup', 'weekly', 'monthly', 'oci-backup'] as const;

/** Monitoring: never paused by a procedure on atlas.db. */
export const MONITORING = ['health', 'alerts-digest'] as const;

/**
 * Why a list of schedule names is wrong (names that are not schedules, each named, and the known
 * ones), or undefined: the CLI's --pause and the incident's `pause` field say it in these words.
 */
export function unknownSchedulesProblem(names: readonly string[]): string | undefined {
  const unknown = names.filter((n) => !(ALL_SCHEDULES as readonly string[]).includes(n));
  if (!unknown.length) return undefined;
  const quoted = unknown.map((n) => JSON.stringify(n)).join(', ');
  return `${quoted} ${unknown.length === 1 ? 'is not a schedule' : 'are not schedules'} (known: ${ALL_SCHEDULES.join(', ')})`;
}
