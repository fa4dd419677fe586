// The maintenance flag, data/.maintenance (docs/safety.md#maintenance-flag): while it exists, nothing
// but the procedure that set it writes atlas.db. Read here, once, for every check of it.
import fs from 'node:fs';

export interface MaintenanceFlag {
  set: boolean;
  /** What the flag file says (who set it, why), when it is readable. */
  holder?: string;
}

export function readMaintenanceFlag(file: string): MaintenanceFlag {
  if (!fs.existsSync(file)) return { set: false };
  try {
    const flag = JSON.parse(fs.readFileSync(file, 'utf8')) as { workflowId?: string; reason?: string };
    return { set: true, holder: [flag.workflowId, flag.reason].filter(Boolean).join(': ') || undefined };
  } catch {
    return { set: true };
  }
}
