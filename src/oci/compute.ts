// The OCI Compute client (oci-core ComputeClient) for Option C's volume swap: the attachments of a
// volume, one attachment, detach, and an attach that is never made twice. Built as the Block
// Storage client is (src/oci/blockstorage.ts): unsigned against the loopback emulator.
import type { ComputeClient, models } from 'oci-core';
import type { AtlasConfig } from '../config';
import { ociClient } from './blockstorage';

export function computeClient(config: AtlasConfig): Promise<ComputeClient> {
  return ociClient(config, (core) => core.ComputeClient);
}

export interface OciAttachment {
  id: string;
  instanceId: string;
  volumeId: string;
  lifecycleState: string;
  device?: string;
}

export const attachmentSummary = (a: models.VolumeAttachment): OciAttachment => ({
  id: a.id,
  instanceId: a.instanceId,
  volumeId: a.volumeId,
  lifecycleState: String(a.lifecycleState),
  ...(a.device ? { device: a.device } : {}),
});

/** Attached, or on its way there or back: what still holds a volume. */
export const isLive = (a: OciAttachment) => a.lifecycleState !== 'DETACHED';

/** Every attachment of `volumeId` in the compartment (all pages), optionally of one instance. */
export async function volumeAttachments(client: ComputeClient, compartmentId: string, volumeId: string, instanceId?: string): Promise<OciAttachment[]> {
  const out: OciAttachment[] = [];
  let page: string | undefined;
  do {
    const r = await client.listVolumeAttachments({ compartmentId, volumeId, ...(instanceId ? { instanceId } : {}), ...(page ? { page } : {}) });
    out.push(...r.items.map(attachmentSummary));
    page = r.opcNextPage;
  } while (page);
  return out;
}
