// Singleton procedures started from code (src/temporal/start.ts): their fixed names, in one place,
// so the automatic start and the CLI's start meet on the same workflow id.
export const CORRUPTION_RECOVERY = 'corruption-recovery';
export const DISK_EMERGENCY = 'disk-emergency';
/** The Sheets outage procedure: its workflow type and its singleton name. */
export const OUTAGE_WORKFLOW = 'sheetsOutage';
export const OUTAGE_SINGLETON = 'sheets-outage';
/** The alert that corruption raises and that a successful recovery resolves. */
export const CORRUPTION_ALERT = 'database-corrupt';
/** The open incident of this Atlas (`incidentResponse`): critical alerts and the CLI's start meet on it. */
export const INCIDENT = 'incident';
