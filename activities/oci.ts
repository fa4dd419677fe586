// OCI block-volume backups with oci-core: create a volume backup (idempotent through an
// opc-retry-token derived from the workflow step), wait until AVAILABLE with heartbeats, list the
// volume's backups, and create a volume from a backup for Option C of corruption recovery.
import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { OciError } from 'oci-common';
import { blockstorageClient, listVolumeBackups, volumeFromBackup, type OciVolumeBackup } from '../src/oci/blockstorage';
export type { OciVolumeBackup };
import { appendLog } from '../src/log';
import type { ActivityContext } from './deps';
import { failure } from '../src/workflow-safe/failures';

// The OCI SDK on first use, as src/oci/blockstorage.ts loads its clients: it is about half of a
// worker's start-up (a fault case starts two workers), and a worker without OCI never calls it.
/* eslint-disable @typescript-eslint/no-require-imports */
const ociCommon = (): typeof import('oci-common') => require('oci-common');
const ociCore = (): typeof import('oci-core') => require('oci-core');
/* eslint-enable @typescript-eslint/no-require-imports */


/** opc-retry-token: at most 64 characters; the same step and name give the same token. */
export function retryToken(idempotencyKey: string, displayName: string): string {
  return `atlas${createHash('sha256').update(`${idempotencyKey}\n${displayName}`).digest('hex').slice(0, 48)}`;
}

function notConfigured(what: string): ApplicationFailure {
  return failure.OciNotConfigured(`OCI is not configured (set ATLAS_OCI_VOLUME_ID, and ATLAS_OCI_ENDPOINT or an OCI config file); ${what}`);
}

/** OCI errors as typed failures: a missing resource or a bad request will not mend by retrying. */
export function ociFailure(err: unknown, what: string): unknown {
  // Matched by shape: oci-core may carry its own copy of oci-common, so instanceof can miss.
  if (!(err instanceof ociCommon().OciError) && !((err as Partial<OciError>)?.statusCode && (err as Partial<OciError>)?.serviceCode)) return err;
  const oci = err as OciError;
  const detail = `${what}: OCI answered ${oci.statusCode} ${oci.serviceCode}: ${oci.message}`;
  if (oci.statusCode === 404) return failure.OciNotFound(`${detail}. Nothing was changed; check the OCID (ATLAS_OCI_VOLUME_ID).`);
  if (oci.statusCode === 400 || oci.statusCode === 401) return failure.OciRequestRejected(`${detail}. Nothing was changed.`);
  return failure.OciUnavailable(detail);
}


export interface OciRetention {
  keep: number;
  /** AVAILABLE backups made by atlas-ops that stay, newest first. */
  kept: string[];
  deleted: string[];
  /** Beyond `keep` but named by a running procedure (Option C restoring from it): not deleted. */
  inUse: string[];
  /** Not made by atlas-ops (their display name does not start with "atlas-"): never touched. */
  notOurs: string[];
}

/** Backups atlas-ops made: `backup --oci` (atlas-backup-…) and the schedule (atlas-oci-backup-…). */
const OURS = /^atlas-/;

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

  /** The status (phase, details, facts) of every running workflow on this task queue but `self`, as one text. */
  async function namedByRunningProcedures(self: string): Promise<string> {
    const texts: string[] = [];
    for await (const wf of ctx.client.workflow.list({ query: `ExecutionStatus = 'Running' AND TaskQueue = '${ctx.config.taskQueue}'` })) {
      if (wf.workflowId === self) continue;
      const status = await ctx.client.workflow.getHandle(wf.workflowId, wf.runId).query<unknown>('status').catch(() => undefined);
      texts.push(JSON.stringify(status ?? null));
    }
    return texts.join('\n');
  }

  return {
    async ociVolumeBackup(input: { displayName: string; idempotencyKey: string }): Promise<{ backupId: string; state: string }> {
      const volume = volumeId(`no volume backup "${input.displayName}" was made. Skip this step to continue with the local backup only.`);
      const client = await blockstorageClient(ctx.config);
      try {
        const created = await client.createVolumeBackup({
          createVolumeBackupDetails: { volumeId: volume, displayName: input.displayName, type: ociCore().models.CreateVolumeBackupDetails.Type.Incremental },
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

    /**
     * Retention of the volume's backups: keeps the `keep` newest AVAILABLE ones made by atlas-ops
     * and deletes the older ones, except any named by a running procedure. The newest AVAILABLE
     * backup is always among those kept (keep is at least 1). Idempotent: a backup already deleted
     * (TERMINATED, or 404) counts as deleted.
     */
    async ociPruneVolumeBackups(input: { keep?: number; workflowId: string }): Promise<OciRetention> {
      const keep = input.keep ?? ctx.config.oci.keepBackups;
      if (!Number.isInteger(keep) || keep < 1) throw failure.InvalidInput(`keep: ${JSON.stringify(keep)} would delete every OCI volume backup; keep at least 1. Nothing was deleted.`);
      const volume = volumeId('no OCI volume backup was deleted.');
      const backups = await listVolumeBackups(ctx.config, volume).catch((err: unknown) => {
        throw ociFailure(err, `listing the backups of ${volume}`);
      });
      const available = backups.filter((b) => b.lifecycleState === 'AVAILABLE');
      const ours = available.filter((b) => OURS.test(b.displayName));
      const kept = ours.slice(0, keep).map((b) => b.id);
      // The newest AVAILABLE backup of the volume, whoever made it, is never a candidate.
      const newest = available[0]?.id;
      const beyond = ours.slice(keep).filter((b) => b.id !== newest);
      const named = beyond.length ? await namedByRunningProcedures(input.workflowId) : '';
      const inUse = beyond.filter((b) => named.includes(b.id)).map((b) => b.id);
      // A retried attempt carries on from the last: what it deleted, and the delete it was making
      // (its answer lost), now TERMINATED, count as deleted.
      const prior = (Context.current().info.heartbeatDetails ?? {}) as { deleted?: string[]; deleting?: string };
      const deleted: string[] = [...(prior.deleted ?? [])];
      const gone = (id: string) => { const b = backups.find((x) => x.id === id); return !b || b.lifecycleState === 'TERMINATED' || b.lifecycleState === 'TERMINATING'; };
      if (prior.deleting && !deleted.includes(prior.deleting) && gone(prior.deleting)) deleted.push(prior.deleting);
      const client = await blockstorageClient(ctx.config);
      try {
        for (const b of beyond.filter((x) => !inUse.includes(x.id))) {
          Context.current().heartbeat({ deleting: b.id, deleted });
          try {
            await client.deleteVolumeBackup({ volumeBackupId: b.id });
          } catch (err) {
            if ((err as Partial<OciError>)?.statusCode !== 404) throw ociFailure(err, `deleting OCI volume backup ${b.id}`);
          }
          deleted.push(b.id);
          Context.current().heartbeat({ deleted });
          appendLog(ctx.paths.log('backup'), { event: 'oci-backup-deleted', backupId: b.id, displayName: b.displayName, workflowId: input.workflowId });
        }
      } finally {
        client.close();
      }
      return { keep, kept, deleted, inUse, notOurs: available.filter((b) => !OURS.test(b.displayName)).map((b) => b.id) };
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
          createVolumeDetails: volumeFromBackup(current, input.backupId, input.displayName),
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
