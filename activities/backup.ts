// Activities of the scheduled backup: the maintenance-flag gate, retention and the backup listing.
import fs from 'node:fs';
import { listBackups } from '../src/db/snapshot';
import { pruneBackups, type PruneResult } from '../src/db/retention';
import { appendLog } from '../src/log';
import type { ActivityContext } from './deps';

export interface BackupSummary {
  name: string;
  size: number;
  verified: boolean;
  createdAt?: string;
  reason?: string;
}

export interface MaintenanceFlag {
  set: boolean;
  /** What the flag file says (who set it, why), when it is readable. */
  holder?: string;
}

export function createBackupActivities(ctx: ActivityContext) {
  const { paths } = ctx;
  return {
    /** The runbook's rule: while data/.maintenance exists, no backup job touches atlas.db. */
    async maintenanceFlagStatus(): Promise<MaintenanceFlag> {
      if (!fs.existsSync(paths.maintenanceFlag)) return { set: false };
      try {
        const flag = JSON.parse(fs.readFileSync(paths.maintenanceFlag, 'utf8')) as { workflowId?: string; reason?: string };
        return { set: true, holder: [flag.workflowId, flag.reason].filter(Boolean).join(': ') || undefined };
      } catch {
        return { set: true };
      }
    },

    /** Retention (src/db/retention.ts); keep defaults to the configured backup.keep. */
    async pruneLocalBackups(input: { keep?: number; dryRun?: boolean; reason: string }): Promise<PruneResult> {
      const keep = input.keep ?? ctx.config.backup.keep;
      const result = pruneBackups(paths.backupsDir, keep, { dryRun: input.dryRun });
      appendLog(paths.log('backup'), { event: input.dryRun ? 'retention-dry-run' : 'retention', keep, removed: result.removed, bytesFreed: result.bytesFreed, reason: input.reason });
      return result;
    },

    async listLocalBackups(): Promise<BackupSummary[]> {
      return listBackups(paths.backupsDir).map((b) => ({
        name: b.name,
        size: b.size,
        verified: b.verified,
        createdAt: b.manifest?.createdAt,
        reason: b.manifest?.reason,
      }));
    },

    async logBackupEvent(input: { event: string; workflowId: string; message: string }): Promise<void> {
      appendLog(paths.log('backup'), input);
    },
  };
}
