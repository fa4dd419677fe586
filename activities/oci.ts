// OCI block-volume backups (placeholder until the oci-core client lands).
import { ApplicationFailure } from '@temporalio/activity';
import type { ActivityContext } from './deps';

export interface OciVolumeBackup {
  id: string;
  displayName: string;
  lifecycleState: string;
  timeCreated: string;
  sizeInGBs?: number;
}

function notConfigured(ctx: ActivityContext, what: string): ApplicationFailure {
  const { endpoint, volumeId } = ctx.config.oci;
  return ApplicationFailure.create({
    type: 'OciNotConfigured',
    message: `OCI is not configured${endpoint || volumeId ? ' (OCI volume backups are not implemented yet)' : ' (set ATLAS_OCI_ENDPOINT and ATLAS_OCI_VOLUME_ID)'}; ${what}`,
    nonRetryable: true,
  });
}

export function createOciActivities(ctx: ActivityContext) {
  return {
    async ociVolumeBackup(input: { displayName: string; idempotencyKey: string }): Promise<{ backupId: string; state: string }> {
      throw notConfigured(ctx, `no volume backup "${input.displayName}" was made. Skip this step to continue with the local snapshot only.`);
    },
    async ociListVolumeBackups(): Promise<OciVolumeBackup[]> {
      throw notConfigured(ctx, 'no OCI volume backups can be listed.');
    },
    async ociRestoreVolume(input: { backupId: string; displayName: string; idempotencyKey: string }): Promise<{ volumeId: string; state: string }> {
      throw notConfigured(ctx, `no volume was created from ${input.backupId}.`);
    },
  };
}
