// OCI block-volume backups. The full client (oci-core against Oracle or the local emulator)
// arrives with the database-safety work; until then a request fails with a clear, typed error.
import { ApplicationFailure } from '@temporalio/activity';
import type { ActivityContext } from './deps';

export function createOciActivities(ctx: ActivityContext) {
  return {
    async ociVolumeBackup(input: { displayName: string; idempotencyKey: string }): Promise<{ backupId: string; state: string }> {
      const { endpoint, volumeId } = ctx.config.oci;
      throw ApplicationFailure.create({
        type: 'OciNotConfigured',
        message: `OCI is not configured${endpoint || volumeId ? ' (OCI volume backups are not implemented yet)' : ' (set ATLAS_OCI_ENDPOINT and ATLAS_OCI_VOLUME_ID)'}; ` +
          `no volume backup "${input.displayName}" was made. Skip this step to continue with the local snapshot only.`,
        nonRetryable: true,
      });
    },
  };
}
