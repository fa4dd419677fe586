// The runbook's "Database Corruption Recovery": stop everything, check, assess, then
// Option A (WAL checkpoint) → Option B (newest good backup) → Option C (OCI volume restore, only
// with an operator's approval, because it replaces the whole volume). Started from the CLI, the
// Web UI, or automatically when an activity meets SQLITE_CORRUPT / SQLITE_NOTADB.
import { ApplicationFailure, defineSignal, defineUpdate, setHandler } from '@temporalio/workflow';
import type { Assessment, CheckpointResult, OptionBResult } from '../activities/recovery';
import type { DbCheck } from '../activities/db';
import type { OciVolumeBackup } from '../activities/oci';
import { formatDuration } from '../src/workflow-safe/duration';
import { ALL_SCHEDULES } from '../src/workflow-safe/schedule-names';
import { CORRUPTION_ALERT } from '../src/workflow-safe/singletons';
import { inputObject, optionalBoolean, optionalDuration, optionalString, rejectUnknown } from './lib/input';
import { AbortRequested, Procedure, type Actor } from './lib/procedure';
import { stamp } from '../src/workflow-safe/stamp';
import { DbHold } from './lib/db-hold';
import { failure } from '../src/workflow-safe/failures';

export interface CorruptionRecoveryInput {
  /** What detected the corruption (the error message, or who started it). */
  trigger?: string;
  /** When it was detected (ISO time); the data-loss window ends here. Default: now. */
  detectedAt?: string;
  requestedBy?: string;
  /** Offer Option C (OCI volume restore) when A and B fail; default true. It still needs approval. */
  allowOci?: boolean;
  reminderInterval?: string | number;
  decisionTimeout?: string | number;
  drainTimeout?: string | number;
  hostQueue?: string;
}

export interface ApproveOciInput extends Actor {
  /** Restore this OCI volume backup instead of the newest AVAILABLE one. */
  backupId?: string;
}

/** Approve Option C. The update is refused at once when no approval is awaited. */
export const approveOciRestoreSignal = defineSignal<[ApproveOciInput]>('approveOciRestore');
export const approveOciRestoreUpdate = defineUpdate<string, [ApproveOciInput]>('approveOciRestoreChecked');
/** The operator has attached the restored volume in place of the old one (and mounted it). */
export const attachmentSwappedSignal = defineSignal<[Actor]>('attachmentSwapped');

export type RecoveryMethod = 'none' | 'A' | 'B' | 'C';

export interface CorruptionRecoveryResult {
  outcome: 'completed' | 'aborted';
  /** What the check found: a sound database means nothing was restored (a false alarm, or a lost WAL). */
  found: 'corrupt' | 'sound';
  method: RecoveryMethod;
  workflowId: string;
  trigger?: string;
  detectedAt: string;
  initialCheck?: { ok: boolean; problems: string[] };
  assessment?: Assessment;
  evidenceKept: string[];
  optionA?: CheckpointResult & { checkAfter?: { ok: boolean; problems: string[] } };
  optionB?: OptionBResult & { checkAfter?: { ok: boolean; problems: string[] } };
  optionC?: { backupId?: string; volumeId?: string; approvedBy?: string; swappedBy?: string; checkAfter?: { ok: boolean; problems: string[] } };
  pausedSchedules: string[];
  unpausedSchedules: string[];
  probe?: { journalMode: string; walSwitchedOn: boolean; rowCounts: Record<string, number> };
  phaseMs: Record<string, number>;
}

const FIELDS = ['trigger', 'detectedAt', 'requestedBy', 'allowOci', 'reminderInterval', 'decisionTimeout', 'drainTimeout', 'hostQueue'] as const;

const brief = (c: DbCheck) => ({ ok: c.ok, problems: c.problems.slice(0, 10) });

export async function corruptionRecovery(rawInput?: CorruptionRecoveryInput): Promise<CorruptionRecoveryResult> {
  const input = inputObject(rawInput, 'corruptionRecovery');
  rejectUnknown(input, FIELDS);
  const trigger = optionalString(input, 'trigger');
  const detectedAtIn = optionalString(input, 'detectedAt');
  if (detectedAtIn !== undefined && Number.isNaN(Date.parse(detectedAtIn))) {
    throw failure.InvalidInput(`detectedAt: "${detectedAtIn}" is not an ISO date-time`);
  }
  const requestedBy = optionalString(input, 'requestedBy');
  const allowOci = optionalBoolean(input, 'allowOci') ?? true;
  const reminderInterval = optionalDuration(input, 'reminderInterval');
  const decisionTimeout = optionalDuration(input, 'decisionTimeout');
  const drainTimeoutIn = optionalDuration(input, 'drainTimeout');
  const hostQueue = optionalString(input, 'hostQueue');

  const p = await Procedure.start('corruptionRecovery', { reminderInterval, decisionTimeout, hostQueue });
  const wf = p.workflowId;
  const detectedAt = detectedAtIn ?? new Date(Date.now()).toISOString();
  const ts = stamp(Date.now());
  const result: CorruptionRecoveryResult = { outcome: 'completed', found: 'corrupt', method: 'none', workflowId: wf, trigger, detectedAt, evidenceKept: [], pausedSchedules: [], unpausedSchedules: [], phaseMs: {} };
  p.status.facts = result as unknown as Record<string, unknown>;

  let approval: ApproveOciInput | undefined;
  let swapped: Actor | undefined;
  let awaitingApproval = false;
  setHandler(approveOciRestoreSignal, (a) => {
    if (awaitingApproval) approval ??= a ?? {};
    else p.event('ignored approveOciRestore: no OCI restore is awaiting approval', a?.by);
  });
  setHandler(approveOciRestoreUpdate, (a) => {
    approval ??= a ?? {};
    return `OCI restore approved for ${wf}`;
  }, {
    validator: (_a) => {
      if (!awaitingApproval) throw new Error(`corruptionRecovery ${wf} is not waiting for an OCI restore approval (phase: ${p.status.phase})`);
    },
  });
  setHandler(attachmentSwappedSignal, (a) => {
    swapped ??= a ?? {};
  });

  const hold = new DbHold(p, 'corruptionRecovery');
  const release = async () => {
    result.unpausedSchedules = await hold.release();
  };
  const check = async (what: string) => brief((await p.step(what, () => p.long.checkAtlasDb())).value!);

  try {
    p.phase('lock', 'Checking that no other procedure is changing atlas.db.');
    await hold.lock();
    await p.record(`corruption recovery started${trigger ? `: ${trigger}` : ''}`, requestedBy);

    p.phase('stop', 'Pausing every atlas schedule and setting the maintenance flag (the runbook: stop all services).');
    await hold.pauseAndFlag(ALL_SCHEDULES, 'corruption recovery');
    result.pausedSchedules = hold.pausedSchedules;
    try {
      await p.long.waitForSchedulesIdle({ names: [...hold.pausedSchedules, ...hold.alreadyPaused], timeoutMs: drainTimeoutIn ?? p.context.defaults.drainTimeout });
    } catch (err) {
      // Runs still going will fail on the damaged file anyway; recovery must not wait on them.
      await p.record(`continuing with runs still going: ${(err as Error).message}`);
    }

    p.phase('check', 'PRAGMA integrity_check on atlas.db.');
    const initial = await check('integrity check');
    result.initialCheck = initial;

    p.phase('assess', 'Tables readable, WAL and SHM sizes, backups and their verification.');
    const assessment = (await p.step('assess', () => p.acts.assessAtlasDb())).value!;
    result.assessment = assessment;
    await p.record(`assessment: integrity ${initial.ok ? 'ok' : `failed (${initial.problems.slice(0, 2).join('; ')})`}, WAL ${assessment.walBytes} bytes, ${assessment.backups.filter((b) => b.verified).length} verified backups`);

    let healthy = initial.ok;
    if (assessment.walBytes > 0) {
      p.phase('option-a', 'Option A: keeping a copy of the files, then PRAGMA wal_checkpoint(FULL) and checking again.');
      result.evidenceKept.push(...(await p.step('keep evidence', () => p.long.preserveEvidence({ suffix: `pre-checkpoint-${ts}` }))).value!);
      const a = (await p.step('WAL checkpoint', () => p.long.checkpointAtlasDb())).value!;
      const after = await check('integrity check after checkpoint');
      result.optionA = { ...a, checkAfter: after };
      healthy = after.ok;
      await p.record(`Option A: checkpoint ${a.ok ? `done (${a.checkpointed}/${a.walFrames} frames)` : `failed${a.error ? `: ${a.error}` : ''}`}; integrity ${after.ok ? 'ok' : 'still failing'}`);
      if (healthy) result.method = 'A';
    } else if (!initial.ok) {
      await p.record('Option A skipped: there is no WAL to checkpoint');
    }
    if (initial.ok && result.method === 'none') result.found = 'sound';

    if (!healthy) {
      p.phase('option-b', 'Option B: restoring the newest backup that passes integrity_check; the corrupt files are kept.');
      const b = (await p.step('restore newest good backup', () => p.long.restoreNewestGoodBackup({ keepSuffix: `corrupted-${ts}`, detectedAt }))).value!;
      result.evidenceKept.push(...b.keptAs);
      if (b.restoredFrom) {
        const after = await check('integrity check after restore');
        result.optionB = { ...b, checkAfter: after };
        healthy = after.ok;
        await p.record(`Option B: restored ${b.restoredFrom}; data-loss window ${b.dataLossWindowMs !== undefined ? formatDuration(b.dataLossWindowMs) : 'unknown'}; rows lost ${JSON.stringify(b.rowsLost)}`);
        if (healthy) result.method = 'B';
      } else {
        result.optionB = b;
        await p.record(`Option B: no backup passes integrity_check (${b.rejected.length} rejected)`);
      }
    }

    let ociUnavailable: string | undefined;
    let available: OciVolumeBackup[] = [];
    if (!healthy && allowOci) {
      p.phase('option-c', 'Option C: restoring the block volume from an OCI backup, after approval.');
      let backups: OciVolumeBackup[] = [];
      try {
        backups = (await p.step('list OCI volume backups', () => p.acts.ociListVolumeBackups(), { fatal: [failure.OciNotConfigured.type] })).value!;
      } catch (err) {
        if (!failure.OciNotConfigured.is(err)) throw err;
        ociUnavailable = err.message;
      }
      available = backups.filter((b) => b.lifecycleState === 'AVAILABLE');
      if (!available.length) {
        ociUnavailable ??= 'no OCI volume backup is AVAILABLE';
        await p.record(`Option C not possible: ${ociUnavailable}`);
      }
    }

    if (!healthy && available.length) {
      awaitingApproval = true;
      p.details(
        `A and B failed. Option C replaces the **whole block volume** with OCI backup \`${available[0]!.id}\` (${available[0]!.timeCreated}).\n\n` +
          `Approve: \`atlas-ops recover corruption --approve-oci ${wf}\`, or send signal \`approveOciRestore\` with \`{"by": "<you>"}\` ` +
          `(optionally \`"backupId"\`). To refuse: signal \`abort\`.`,
      );
      await p.waitForPerson(`approval to restore the block volume from OCI backup ${available[0]!.id}`, 'oci-approval', () => approval !== undefined, { alertCode: `corruption-oci-approval:${wf}` });
      awaitingApproval = false;
      const backupId = approval!.backupId ?? available[0]!.id;
      result.optionC = { backupId, approvedBy: approval!.by };
      await p.record(`Option C approved: restore from ${backupId}`, approval!.by);
      const volume = (await p.step('create volume from OCI backup', () => p.long.ociRestoreVolume({ backupId, displayName: `atlas-restored-${ts}`, idempotencyKey: `${wf}/oci-restore` }))).value!;
      result.optionC.volumeId = volume.volumeId;
      p.details(`Volume \`${volume.volumeId}\` is AVAILABLE. Detach the current volume, attach and mount \`${volume.volumeId}\` at the Atlas home, then signal \`attachmentSwapped\` (\`atlas-ops recover corruption --swapped ${wf}\`).`);
      await p.waitForPerson(`swap the volume attachment to ${volume.volumeId}, then signal attachmentSwapped`, 'volume-swap', () => swapped !== undefined, { alertCode: `corruption-oci-swap:${wf}` });
      result.optionC.swappedBy = swapped!.by;
      const after = await check('integrity check after volume swap');
      result.optionC.checkAfter = after;
      healthy = after.ok;
      if (healthy) result.method = 'C';
    }

    if (!healthy) {
      throw failure.RecoveryFailed(
        `atlas.db could not be recovered (A: ${result.optionA ? 'failed' : 'not applicable'}, B: ${result.optionB?.restoredFrom ? 'restored but still failing' : 'no good backup'}, C: ${allowOci ? (ociUnavailable ?? 'failed') : 'not allowed'}). ` +
          'Schedules stay paused and the maintenance flag stays set. Restore by hand (atlas-ops db restore <backup>) or from an OCI volume backup; the corrupt files are kept in data/.',
      );
    }

    p.phase('resume', 'Clearing the maintenance flag, unpausing the schedules, probing the database.');
    await release();
    const probe = (await p.step('probe database', () => p.acts.probeAtlasDb(), { skippable: true })).value;
    if (probe) result.probe = { journalMode: probe.journalMode, walSwitchedOn: probe.walSwitchedOn, rowCounts: probe.rowCounts };
    await p.acts.resolveAlert({ code: CORRUPTION_ALERT, resolution: result.found === 'sound' ? 'integrity_check passes: no corruption found' : `recovered with Option ${result.method} by ${wf}` });
    result.phaseMs = p.phaseDurations();
    p.finish('completed', result.found === 'sound' ? 'atlas.db passes integrity_check; nothing was restored.' : `Recovered with Option ${result.method}. Corrupt files kept: ${result.evidenceKept.join(', ') || 'none'}.`);
    await p.record(`corruption recovery finished: database was ${result.found}, method ${result.method}`);
    return result;
  } catch (err) {
    if (err instanceof AbortRequested) {
      result.outcome = 'aborted';
      result.unpausedSchedules = await hold.abort(err.actor, `Files kept: ${result.evidenceKept.join(', ') || 'none'}.`);
      result.phaseMs = p.phaseDurations();
      return result;
    }
    const message = (err as Error).message;
    // Safe state: a database that is still corrupt must not be synced or backed up over.
    await hold.undo.raiseAlert({ code: `corruption-recovery-failed:${wf}`, level: 'critical', message: `corruptionRecovery ${wf} failed: ${message}` });
    p.finish('failed', `Failed: ${message}`);
    if (err instanceof ApplicationFailure) throw err;
    throw failure.RecoveryFailed(`corruptionRecovery ${wf} failed: ${message}`);
  } finally {
    await hold.unlock();
  }
}
