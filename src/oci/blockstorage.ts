// The OCI Block Storage client (oci-core), built from the configuration: signed with the OCI config
// file or an instance principal against Oracle, unsigned against a loopback endpoint (the local
// emulator). Keys stay inside the SDK: nothing here returns or logs them.
import fs from 'node:fs';
import path from 'node:path';
import type * as common from 'oci-common';
import type { BlockstorageClient, models } from 'oci-core';
import type { AtlasConfig } from '../config';

export function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\./.test(host);
}

/** Temporal retries the activity; the SDK's circuit breaker would only hide the real error. */
const CLIENT_CONFIGURATION = { circuitBreaker: { noCircuit: true } as unknown as common.CircuitBreaker };

/** What every OCI service client atlas-ops builds shares. */
interface OciServiceClient {
  endpoint: string;
  close(): void;
}
type OciClientClass<C> = new (params: common.AuthParams, configuration?: common.ClientConfiguration) => C;

/** An oci-core client for `config`: unsigned against a loopback endpoint, signed otherwise. */
export async function ociClient<C extends OciServiceClient>(config: AtlasConfig, pick: (core: typeof import('oci-core')) => OciClientClass<C>): Promise<C> {
  // Loaded on first use: the SDK takes about half a second to load, and most CLI commands never call OCI.
  return ociServiceClient(config, pick(await import('oci-core')));
}

/**
 * Any oci-* service client for `config`. `oci.endpoint` names the oci-core services' endpoint; a
 * service of another package (`regionalEndpoint`, e.g. Identity) takes it only when it is the
 * loopback emulator, which serves them all, and otherwise finds its own from the region.
 */
export async function ociServiceClient<C extends OciServiceClient>(config: AtlasConfig, Client: OciClientClass<C>, { regionalEndpoint = false } = {}): Promise<C> {
  const common = await import('oci-common');
  const { endpoint } = config.oci;
  if (endpoint && isLoopbackUrl(endpoint)) {
    // No request signer: the emulator takes unsigned requests, and no key is read at all.
    const client = new Client({ httpClient: new common.FetchHttpClient(null) }, CLIENT_CONFIGURATION);
    client.endpoint = endpoint.replace(/\/$/, '');
    return client;
  }
  const configFile = ociConfigFile(config);
  const provider = fs.existsSync(configFile)
    ? new common.ConfigFileAuthenticationDetailsProvider(configFile)
    : await new common.InstancePrincipalsAuthenticationDetailsProviderBuilder().build();
  const client = new Client({ authenticationDetailsProvider: provider }, CLIENT_CONFIGURATION);
  if (endpoint && !regionalEndpoint) client.endpoint = endpoint.replace(/\/$/, '');
  return client;
}

/** The OCI CLI config file in effect: the configured one, else `<home>/config/oci/config`. */
export function ociConfigFile(config: AtlasConfig): string {
  return config.oci.configFile || path.join(config.home, 'config', 'oci', 'config');
}

export function blockstorageClient(config: AtlasConfig): Promise<BlockstorageClient> {
  return ociClient(config, (core) => core.BlockstorageClient);
}

export interface OciVolumeBackup {
  id: string;
  displayName: string;
  lifecycleState: string;
  timeCreated: string;
  sizeInGBs?: number;
}

export const volumeBackupSummary = (b: models.VolumeBackup): OciVolumeBackup => ({
  id: b.id,
  displayName: b.displayName,
  lifecycleState: String(b.lifecycleState),
  timeCreated: new Date(b.timeCreated).toISOString(),
  sizeInGBs: b.sizeInGBs,
});

/** The backups of a volume, newest first (used by the activity and by the disaster recovery test). */
export async function listVolumeBackups(config: AtlasConfig, volumeId: string): Promise<OciVolumeBackup[]> {
  const client = await blockstorageClient(config);
  try {
    const { compartmentId } = (await client.getVolume({ volumeId })).volume;
    const list = await client.listVolumeBackups({ compartmentId, volumeId, sortBy: 'TIMECREATED' as never, sortOrder: 'DESC' as never });
    return list.items.map(volumeBackupSummary).sort((a, b) => b.timeCreated.localeCompare(a.timeCreated));
  } finally {
    client.close();
  }
}

/** A new volume from a backup, beside `current` (its compartment and availability domain): Option C and the DR test. */
export function volumeFromBackup(current: Pick<models.Volume, 'compartmentId' | 'availabilityDomain'>, backupId: string, displayName: string): models.CreateVolumeDetails {
  return {
    compartmentId: current.compartmentId,
    availabilityDomain: current.availabilityDomain,
    displayName,
    sourceDetails: { type: 'volumeBackup', id: backupId } as models.VolumeSourceFromVolumeBackupDetails,
  };
}

export interface TrialRestore {
  /** The scratch volume created from the backup (terminated again before this returns). */
  volumeId?: string;
  /** The volume's last state before it was terminated: AVAILABLE when the restore worked. */
  state: string;
  /** From the create request until the volume was AVAILABLE. */
  restoreMs: number;
  terminated: boolean;
}

/**
 * The disaster recovery test's restore: a scratch volume from `backupId` in the volume's compartment
 * and availability domain, polled until AVAILABLE (or `timeoutMs`), then terminated whatever happened,
 * so a monthly test leaves no volume behind to pay for.
 */
export async function trialRestoreVolume(config: AtlasConfig, volumeId: string, backupId: string, displayName: string, timeoutMs: number): Promise<TrialRestore> {
  const client = await blockstorageClient(config);
  const t0 = performance.now();
  try {
    const current = (await client.getVolume({ volumeId })).volume;
    const created = await client.createVolume({ createVolumeDetails: volumeFromBackup(current, backupId, displayName) });
    const restored = created.volume.id;
    let state = String(created.volume.lifecycleState);
    try {
      while ((state === 'PROVISIONING' || state === 'RESTORING') && performance.now() - t0 < timeoutMs) {
        await new Promise((resolve) => setTimeout(resolve, config.oci.pollInterval));
        state = String((await client.getVolume({ volumeId: restored })).volume.lifecycleState);
      }
    } catch {
      state = 'UNKNOWN (polling failed)';
    }
    const restoreMs = Math.round(performance.now() - t0);
    // Terminated whatever happened; one still provisioning at the timeout cannot be yet, and is reported.
    const terminated = await client.deleteVolume({ volumeId: restored }).then(() => true, () => false);
    return { volumeId: restored, state, restoreMs, terminated };
  } finally {
    client.close();
  }
}
