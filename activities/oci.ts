// OCI block-volume backups with oci-core: create a volume backup (idempotent through an
// opc-retry-token derived from the workflow step), wait until AVAILABLE with heartbeats, list the
// volume's backups, and create a volume from a backup for Option C of corruption recovery.
import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { OciError } from 'oci-common';
import { models } from 'oci-core';
import { blockstorageClient, listVolumeBackups, type OciVolumeBackup } from '../src/oci/blockstorage';
export type { OciVolumeBackup };
import { appendLog } from '../src/log';
import type { ActivityContext } from './deps';
import { failure } from '../src/workflow-safe/failures';


/** opc-retry-token: at most 64 characters; the same step and name give the same token. */
export function retryToken(idempotencyKey: string, displayName: string): string {
  return `atlas${createHash('sha256').update(`${idempotencyKey}\n${displayName}`).digest('hex').slice(0, 48)}`;
}

function notConfigured(what: string): ApplicationFailure {
  return failure.OciNotConfigured(`OCI is not configured (set ATLAS_OCI_VOLUME_ID, and ATLAS_OCI_ENDPOINT or an OCI config file); ${what}`);
}

/** OCI errors as typed failures: a missing resource or a bad request will not mend by retrying. */
function ociFailure(err: unknown, what: string): unknown {
  // Matched by shape: oci-core may carry its own copy of oci-common, so instanceof can miss.
  if (!(err instanceof OciError) && !((err as Partial<OciError>)?.statusCode && (err as Partial<OciError>)?.serviceCode)) return err;
  const oci = err as OciError;
  const detail = `${what}: OCI answered ${oci.statusCode} ${oci.serviceCode}: ${oci.message}`;
  if (oci.statusCode === 404) return failure.OciNotFound(`${detail}. Nothing was changed; check the OCID (ATLAS_OCI_VOLUME_ID).`);
  if (oci.statusCode === 400 || oci.statusCode === 401) return failure.OciRequestRejected(`${detail}. Nothing was changed.`);
  return failure.OciUnavailable(detail);
}


export function createOciActivities(ctx: ActivityContext) {
  const volumeId = (what: string) => {
    if (!ctx.config.oci.volumeId) throw notConfigured(what);
    return ctx.config.oci.volumeId;
  };

  /** Polls `get` until the state is in `done`; a state in `failed` ends it. Heartbeats each poll. */
  async function waitUntil<T extends { lifecycleState: unknown }>(get: () => Promise<T>, done: string[], failed: string[], what: string): Promise<T> {
    for (;;) {
      const r = await get();
      const state = String(r.lifecycleState);
      Context.current().heartbeat({ waitingFor: what, state });
      if (done.includes(state)) return r;
      if (failed.includes(state)) return r;
      await Context.current().sleep(ctx.config.oci.pollInterval);
    }
  }

  return {
    async ociVolumeBackup(input: { displayName: string; idempotencyKey: string }): Promise<{ backupId: string; state: string }> {
      const volume = volumeId(`no volume backup "${input.displayName}" was made. Skip this step to continue with the local backup only.`);
      const client = await blockstorageClient(ctx.config);
      try {
        const created = await client.createVolumeBackup({
          createVolumeBackupDetails: { volumeId: volume, displayName: input.displayName, type: models.CreateVolumeBackupDetails.Type.Incremental },
          opcRetryToken: retryToken(input.idempotencyKey, input.displayName),
        });
        const id = created.volumeBackup.id;
        appendLog(ctx.paths.log('backup'), { event: 'oci-backup-requested', backupId: id, displayName: input.displayName });
        const b = await waitUntil(async () => (await client.getVolumeBackup({ volumeBackupId: id })).volumeBackup, ['AVAILABLE'], ['FAULTY', 'TERMINATED', 'TERMINATING'], `OCI backup ${id}`);
        const state = String(b.lifecycleState);
        appendLog(ctx.paths.log('backup'), { event: 'oci-backup-finished', backupId: id, state });
        if (state !== 'AVAILABLE') {
          throw failure.OciBackupFaulty(`OCI volume backup ${id} ended ${state}; the local backup is unaffected. Retry the step to request a new volume backup, or skip it.`);
        }
        return { backupId: id, state };
      } catch (err) {
        throw ociFailure(err, `OCI volume backup of ${volume}`);
      } finally {
        client.close();
      }
    },

    /** The volume's backups, newest first. */
    async ociListVolumeBackups(): Promise<OciVolumeBackup[]> {
      const volume = volumeId('no OCI volume backups can be listed.');
      try {
        return await listVolumeBackups(ctx.config, volume);
      } catch (err) {
        throw ociFailure(err, `listing the backups of ${volume}`);
      }
    },

    /** Option C: a new volume from a backup, in the current volume's compartment and availability domain. */
    async ociRestoreVolume(input: { backupId: string; displayName: string; idempotencyKey: string }): Promise<{ volumeId: string; state: string }> {
      const volume = volumeId(`no volume was created from ${input.backupId}.`);
      const client = await blockstorageClient(ctx.config);
      try {
        const current = (await client.getVolume({ volumeId: volume })).volume;
        const created = await client.createVolume({
          createVolumeDetails: {
            compartmentId: current.compartmentId,
            availabilityDomain: current.availabilityDomain,
            displayName: input.displayName,
            sourceDetails: { type: 'volumeBackup', id: input.backupId } as models.VolumeSourceFromVolumeBackupDetails,
          },
          opcRetryToken: retryToken(input.idempotencyKey, input.displayName),
        });
        const id = created.volume.id;
        appendLog(ctx.paths.log('backup'), { event: 'oci-volume-restore-requested', volumeId: id, fromBackup: input.backupId });
        const v = await waitUntil(async () => (await client.getVolume({ volumeId: id })).volume, ['AVAILABLE'], ['FAULTY', 'TERMINATED', 'TERMINATING'], `OCI volume ${id}`);
        const state = String(v.lifecycleState);
        if (state !== 'AVAILABLE') throw failure.OciRestoreFailed(`volume ${id} from backup ${input.backupId} ended ${state}`);
        return { volumeId: id, state };
      } catch (err) {
        throw ociFailure(err, `creating a volume from ${input.backupId}`);
      } finally {
        client.close();
      }
    },
  };
}
