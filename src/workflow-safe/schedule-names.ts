// Schedule names that workflow code needs too; kept free of I/O imports so workflows can import it.

/** The schedules that touch atlas.db and are paused while it is being changed (the runbook's "Pause Workers"). */
export const SYNC_AND_BACKUP = ['export', 'import', 'backup'] as const;

/** Every schedule atlas-ops manages (corruption recovery pauses them all). src/schedules.ts defines each. */
export const ALL_SCHEDULES = ['export', 'import', 'backup', 'health', 'weekly', 'monthly', 'key-rotation', 'alerts-digest'] as const;
export type ScheduleName = (typeof ALL_SCHEDULES)[number];

/** What incident containment pauses: every automated job but monitoring (health checks and the digest keep running). */
export const CONTAINED_BY_INCIDENT = ['export', 'import', 'backup', 'weekly', 'monthly', 'key-rotation'] as const;
