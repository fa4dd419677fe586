// Option C's volume swap (docs/procedures.md#option-c-the-volume-swap): what is attached where
// (oci-core ComputeClient), detach and attach, each idempotent (an attach is looked for before it is
// made, a detach already going counts), bounded waits for ATTACHED / DETACHED that heartbeat, and
// the host steps (stash, unmount, mount by UUID, unstash) through src/volume-swap.ts.
import { Context } from '@temporalio/activity';
import type { OciError } from 'oci-common';
import { blockstorageClient } from '../src/oci/blockstorage';
import { computeClient, isLive, volumeAttachments, type OciAttachment } from '../src/oci/compute';
import { appendLog } from '../src/log';
import { mountByUuid, stash, unmount, unstash, uuidOf, type Stash } from '../src/volume-swap';
import { failure } from '../src/workflow-safe/failures';
import type { ActivityContext } from './deps';
import { ociFailure, retryToken } from './oci';

export interface SwapPlan {
  /** False when `oci.instanceId` is not set: a person swaps the volume. */
  automatic: boolean;
  instanceId?: string;
  /** The data volume's attachment to this instance (none when it is already detached). */
  oldAttachment?: OciAttachment;
  /** Where the restored volume is attached (its UUID read by `lsblk`). */
  device?: string;
  mountPoint: string;
}

const statusOf = (err: unknown) => (err as Partial<OciError>)?.statusCode;

export function createVolumeSwapActivities(ctx: ActivityContext) {
  const { config } = ctx;
  const refuse = (why: string) => failure.VolumeSwapRefused(`${why}. Nothing was swapped.`);

  /** The compartment of the data volume, where its attachments (and the restored volume's) are listed. */
  async function compartment(): Promise<string> {
    const bs = await blockstorageClient(config);
    try {
      return (await bs.getVolume({ volumeId: config.oci.volumeId })).volume.compartmentId;
    } finally {
      bs.close();
    }
  }

  async function withCompute<T>(what: string, run: (client: Awaited<ReturnType<typeof computeClient>>, compartmentId: string) => Promise<T>): Promise<T> {
    const client = await computeClient(config);
    try {
      return await run(client, await compartment());
    } catch (err) {
      throw ociFailure(err, what);
    } finally {
      client.close();
    }
  }

  return {
    /**
     * Before anything is swapped: which attachment of the data volume is this instance's, and that
     * the restored volume is attached nowhere else. Read-only; refuses (naming the value) an
     * attachment for another instance, a restored volume still attached elsewhere, no device.
     */
    async ociSwapPlan(input: { restoredVolumeId: string }): Promise<SwapPlan> {
      const { instanceId, volumeId, device, mountPoint } = config.oci;
      if (!instanceId) return { automatic: false, mountPoint };
      return withCompute(`looking up the attachments of ${volumeId}`, async (client, compartmentId) => {
        const old = (await volumeAttachments(client, compartmentId, volumeId)).filter(isLive);
        const foreign = old.find((a) => a.instanceId !== instanceId);
        if (foreign) throw refuse(`attachment ${foreign.id} of the data volume ${volumeId} is for instance ${foreign.instanceId}, not oci.instanceId ${instanceId}`);
        const elsewhere = (await volumeAttachments(client, compartmentId, input.restoredVolumeId)).filter((a) => isLive(a) && a.instanceId !== instanceId);
        if (elsewhere.length) throw refuse(`the restored volume ${input.restoredVolumeId} is still attached (${elsewhere[0]!.lifecycleState}) to instance ${elsewhere[0]!.instanceId} by attachment ${elsewhere[0]!.id}`);
        const oldAttachment = old[0];
        const at = device || oldAttachment?.device;
        if (!at) throw refuse(`no device to attach ${input.restoredVolumeId} at: the attachment ${oldAttachment?.id ?? '(none)'} has none; set oci.device (e.g. /dev/oracleoci/oraclevdb)`);
        return { automatic: true, instanceId, ...(oldAttachment ? { oldAttachment } : {}), device: at, mountPoint };
      });
    },

    /** Requests the detach; one already DETACHING or DETACHED (or gone) counts as requested. */
    async ociDetachVolume(input: { attachmentId: string }): Promise<{ state: string }> {
      return withCompute(`detaching ${input.attachmentId}`, async (client) => {
        let state: string;
        try {
          state = String((await client.getVolumeAttachment({ volumeAttachmentId: input.attachmentId })).volumeAttachment.lifecycleState);
        } catch (err) {
          if (statusOf(err) === 404) return { state: 'DETACHED' };
          throw err;
        }
        if (state !== 'ATTACHED') return { state };
        try {
          await client.detachVolume({ volumeAttachmentId: input.attachmentId });
        } catch (err) {
          // Its answer lost and retried: the first request is already being carried out.
          if (statusOf(err) !== 409 && statusOf(err) !== 404) throw err;
        }
        return { state: 'DETACHING' };
      });
    },

    /**
     * Attaches `volumeId` to this instance at `device`, once: an attachment of it to this instance
     * that is ATTACHING or ATTACHED (a retry after the worker died, or after a lost answer) is
     * returned instead of a second one; the request also carries an opc-retry-token.
     */
    async ociAttachVolume(input: { volumeId: string; device: string; idempotencyKey: string }): Promise<OciAttachment> {
      const instanceId = config.oci.instanceId;
      return withCompute(`attaching ${input.volumeId} to ${instanceId}`, async (client, compartmentId) => {
        const live = (await volumeAttachments(client, compartmentId, input.volumeId)).filter(isLive);
        const ours = live.find((a) => a.instanceId === instanceId);
        if (ours) return ours;
        if (live.length) throw refuse(`volume ${input.volumeId} is still attached (${live[0]!.lifecycleState}) to instance ${live[0]!.instanceId} by attachment ${live[0]!.id}`);
        const displayName = `atlas-restored-attachment`;
        try {
          const made = await client.attachVolume({
            attachVolumeDetails: { type: 'paravirtualized', instanceId, volumeId: input.volumeId, device: input.device, displayName } as never,
            opcRetryToken: retryToken(input.idempotencyKey, displayName),
          });
          return { id: made.volumeAttachment.id, instanceId, volumeId: input.volumeId, lifecycleState: String(made.volumeAttachment.lifecycleState), device: input.device };
        } catch (err) {
          if (statusOf(err) === 409) throw refuse(`OCI refused to attach ${input.volumeId} to ${instanceId} at ${input.device}: ${(err as Error).message}`);
          throw err;
        }
      });
    },

    /**
     * Polls the attachment until it is `want`, for at most `forMs` (the workflow pages between two
     * such waits and decides the timeout outcome). Heartbeats each poll.
     */
    async ociWaitForAttachment(input: { attachmentId: string; want: 'ATTACHED' | 'DETACHED'; forMs: number }): Promise<{ state: string; reached: boolean }> {
      const until = Date.now() + input.forMs;
      return withCompute(`waiting for ${input.attachmentId} to be ${input.want}`, async (client) => {
        for (;;) {
          let state: string;
          try {
            state = String((await client.getVolumeAttachment({ volumeAttachmentId: input.attachmentId })).volumeAttachment.lifecycleState);
          } catch (err) {
            if (statusOf(err) !== 404 || input.want !== 'DETACHED') throw err;
            state = 'DETACHED';
          }
          Context.current().heartbeat({ attachmentId: input.attachmentId, state });
          if (state === input.want) return { state, reached: true };
          if (state === 'DETACHED' && input.want === 'ATTACHED') throw failure.OciRestoreFailed(`attachment ${input.attachmentId} ended DETACHED instead of ATTACHED`);
          if (Date.now() >= until) return { state, reached: false };
          await Context.current().sleep(Math.min(config.oci.pollInterval, Math.max(1, until - Date.now())));
        }
      });
    },

    /** Copies what atlas-ops owns on the data volume to the stash, which becomes ops.db's home meanwhile. */
    async stashVolumeState(): Promise<Stash> {
      // Not logged to logs/: that is on the volume, and its copy is already taken; the procedure records it.
      return stash(config, ctx.paths, () => ctx.close(), () => Context.current().heartbeat());
    },

    async unmountDataVolume(): Promise<{ unmounted: boolean }> {
      return unmount(config);
    },

    /** Mounts the file system found on `device` by its UUID. */
    async mountRestoredVolume(input: { device: string }): Promise<{ uuid: string; mounted: boolean }> {
      const uuid = await uuidOf(input.device);
      return { uuid, ...(await mountByUuid(config, uuid)) };
    },

    /** Copies the stash over the restored volume: only atlas.db stays as restored. */
    async unstashVolumeState(): Promise<{ restored: string[] }> {
      const r = await unstash(config, ctx.paths, () => ctx.close(), () => Context.current().heartbeat());
      appendLog(ctx.paths.log('backup'), { event: 'volume-swap-unstashed', restored: r.restored });
      return r;
    },
  };
}
