// Activities of the scheduled backup: the maintenance-flag gate, retention and the backup listing.
import { Context } from '@temporalio/activity';
import { listBackups } from '../src/db/snapshot';
import { pruneBackups, type PruneResult } from '../src/db/retention';
import { appendLog } from '../src/log';
import type { ActivityContext } from './deps';
import { readMaintenanceFlag, type MaintenanceFlag } from '../src/maintenance-flag';

export interface BackupSummary {
  name: string;
  size: number;
  verified: boolean;
  createdAt?: string;
  reason?: string;
}

export function createBackupActivities(ctx: ActivityContext) {
  const { paths } = ctx;
  return {
    /** The runbook's rule: while data/.maintenance exists, no backup job touches atlas.db. */
    async maintenanceFlagStatus(): Promise<MaintenanceFlag> {
      return readMaintenanceFlag(paths.maintenanceFlag);
    },

    /** Retention (src/db/retention.ts); keep defaults to the configured backup.keep. */
    async pruneLocalBackups(input: { keep?: number; dryRun?: boolean; reason: string }): Promise<PruneResult> {
      const keep = input.keep ?? ctx.config.backup.keep;
      const result = await pruneBackups(paths.backupsDir, keep, { dryRun: input.dryRun, onTick: () => Context.current().heartbeat({ checking: 'backups without a manifest' }) });
      appendLog(paths.log('backup'), { event: input.dryRun ? 'retention-dry-run' : 'retention', keep, removed: result.removed, keptUnverifiable: result.keptUnverifiable, bytesFreed: result.bytesFreed, reason: input.reason });
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
