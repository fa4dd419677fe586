// The runbook's "Database Corruption Recovery": stop everything, check, assess, then
// Option A (WAL checkpoint) → Option R (the replica) or B (newest good backup), whichever loses less
// data, measured → Option C (OCI volume restore, only
// with an operator's approval, because it replaces the whole volume). Started from the CLI, the
// Web UI, or automatically when an activity meets SQLITE_CORRUPT / SQLITE_NOTADB.
import { ApplicationFailure, defineSignal, defineUpdate, setHandler } from '@temporalio/workflow';
import type { SignalDefinition, UpdateDefinition } from '@temporalio/common';
import type { Assessment, CheckpointResult, OptionBResult, ReplicaCandidate } from '../activities/recovery';
import type { DbCheck } from '../activities/db';
import type { OciVolumeBackup } from '../activities/oci';
import type { SwapPlan } from '../activities/volume-swap';
import { formatDuration } from '../src/workflow-safe/duration';
import { TOUCHING_ATLAS_DB } from '../src/workflow-safe/schedule-names';
import { CORRUPTION_ALERT } from '../src/workflow-safe/singletons';
import { DECISION_TIMEOUT, DRAIN_TIMEOUT, HOME, HOST_QUEUE, REMINDER_INTERVAL, inputTable, type ArgsOf, type InputOf } from './lib/input';
import { boundedText, operatorTextProblem, type Actor, type Procedure } from './lib/procedure';
import { stamp } from '../src/workflow-safe/stamp';
import { DbHold } from './lib/db-hold';
import { runProcedure, type Exit, type ProcedureBody } from './lib/template';
import { failure } from '../src/workflow-safe/failures';
import { shellQuote } from '../src/workflow-safe/shell-quote';

export const CORRUPTION_RECOVERY_INPUT = inputTable([
  { name: 'trigger', type: 'text', doc: 'What detected the corruption (the error message, or who started it).' },
  { name: 'detectedAt', type: 'isoTime', doc: 'When it was detected (ISO time); the data-loss window ends here. Default: now.' },
  { name: 'requestedBy', type: 'string', doc: 'Who started it (recorded in ops.db).' },
  { name: 'allowOci', type: 'boolean', default: true, doc: 'Offer Option C (OCI volume restore) when A and B fail. It still needs approval.' },
  REMINDER_INTERVAL,
  DECISION_TIMEOUT,
  DRAIN_TIMEOUT,
  HOST_QUEUE,
  HOME,
]);

export type CorruptionRecoveryInput = InputOf<typeof CORRUPTION_RECOVERY_INPUT>;

export interface ApproveOciInput extends Actor {
  /** Restore this OCI volume backup instead of the newest AVAILABLE one. */
  backupId?: string;
}

/** Approve Option C. The update is refused at once when no approval is awaited; the signal is then ignored. */
export const approveOciRestoreSignal = defineSignal<[ApproveOciInput]>('approveOciRestore');
export const approveOciRestoreUpdate = defineUpdate<string, [ApproveOciInput]>('approveOciRestoreChecked');
/**
 * The operator has attached the restored volume in place of the old one (and mounted it). Only
 * while the swap is awaited: an early one would make the procedure check a volume nobody swapped.
 */
export const attachmentSwappedSignal = defineSignal<[Actor]>('attachmentSwapped');
export const attachmentSwappedUpdate = defineUpdate<string, [Actor]>('attachmentSwappedChecked');

export type RecoveryMethod = 'none' | 'A' | 'R' | 'B' | 'C';

/** One option weighed by the least data lost (docs/procedures.md#corruption-recovery). */
export interface RecoveryCandidate {
  option: 'A' | 'R' | 'B';
  available: boolean;
  /** Measured: from the option's point to the detection (A: 0 when it works). */
  dataLossWindowMs?: number;
  why: string;
}

type Check = { ok: boolean; problems: string[] };

export interface CorruptionRecoveryResult {
  outcome: 'completed' | 'aborted';
  /** What the check found: a sound database means nothing was restored (a false alarm, or a lost WAL). */
  found: 'corrupt' | 'sound';
  method: RecoveryMethod;
  workflowId: string;
  trigger?: string;
  detectedAt: string;
  initialCheck?: Check;
  assessment?: Assessment;
  evidenceKept: string[];
  optionA?: CheckpointResult & { checkAfter?: Check };
  optionR?: ReplicaCandidate & { keptAs?: string[]; checkAfter?: Check };
  optionB?: OptionBResult & { checkAfter?: Check };
  /** After A: the candidates with their measured loss, the one chosen and why. */
  choice?: { candidates: RecoveryCandidate[]; chosen: 'R' | 'B'; why: string };
  optionC?: {
    backupId?: string;
    volumeId?: string;
    approvedBy?: string;
    /** A person swapped the volume (no `oci.instanceId`): who said so. */
    swappedBy?: string;
    /** The procedure swapped it: what it detached, attached and mounted, and what it carried across. */
    swap?: { instanceId: string; detached?: string; attachmentId: string; device: string; uuid: string; mountPoint: string; carried: string[] };
    checkAfter?: Check;
  };
  pausedSchedules: string[];
  unpausedSchedules: string[];
  probe?: { journalMode: string; walSwitchedOn: boolean; rowCounts: Record<string, number> };
  phaseMs: Record<string, number>;
}

const brief = (c: DbCheck) => ({ ok: c.ok, problems: c.problems.slice(0, 10) });

export function corruptionRecovery(input?: CorruptionRecoveryInput): Promise<CorruptionRecoveryResult> {
  return runProcedure({ name: 'corruptionRecovery', input: CORRUPTION_RECOVERY_INPUT, failure: failure.RecoveryFailed }, input, (p, args) => new CorruptionRecovery(p, args));
}

class CorruptionRecovery implements ProcedureBody<CorruptionRecoveryResult> {
  readonly result: CorruptionRecoveryResult;
  private readonly hold: DbHold;
  private readonly wf: string;
  /** Suffix of the files kept as evidence. */
  private readonly ts: string;
  private approval?: ApproveOciInput;
  private swapped?: Actor;
  private awaiting?: 'approval' | 'swap';
  /** Why Option C could not be tried, for the final failure. */
  private ociUnavailable?: string;
  /** While the procedure swaps the volume (stash taken, not yet brought back): the step it is at, and the stash. */
  private midSwap?: string;
  private stashDir?: string;

  constructor(private readonly p: Procedure, private readonly args: ArgsOf<typeof CORRUPTION_RECOVERY_INPUT>) {
    this.wf = p.workflowId;
    this.ts = stamp(Date.now());
    this.hold = new DbHold(p, 'corruptionRecovery');
    const detectedAt = args.detectedAt ?? new Date(Date.now()).toISOString();
    this.result = { outcome: 'completed', found: 'corrupt', method: 'none', workflowId: this.wf, trigger: args.trigger, detectedAt, evidenceKept: [], pausedSchedules: [], unpausedSchedules: [], phaseMs: {} };
    this.handleSignals();
  }

  async run(): Promise<void> {
    await this.lock();
    await this.stop();
    const initial = await this.check();
    const assessment = await this.assess(initial);
    let healthy = initial.ok;
    if (assessment.walBytes > 0) healthy = await this.optionA();
    else if (!initial.ok) await this.p.record('Option A skipped: there is no WAL to checkpoint');
    if (initial.ok && this.result.method === 'none') this.result.found = 'sound';
    if (!healthy) healthy = await this.optionRorB(assessment);
    if (!healthy) healthy = await this.optionC();
    if (!healthy) throw this.unrecoverable();
    await this.resume();
  }

  private handleSignals(): void {
    const { p, wf } = this;
    this.answerWhileAwaited('approval', approveOciRestoreSignal, approveOciRestoreUpdate, {
      ignored: 'ignored approveOciRestore: no OCI restore is awaiting approval',
      refused: () => `corruptionRecovery ${wf} is not waiting for an OCI restore approval (phase: ${p.status.phase})`,
      accept: (a) => {
        this.approval ??= a;
        return `OCI restore approved for ${wf}`;
      },
    });
    this.answerWhileAwaited('swap', attachmentSwappedSignal, attachmentSwappedUpdate, {
      ignored: 'ignored attachmentSwapped: no restored volume is waiting to be swapped in',
      refused: () => `corruptionRecovery ${wf} is not waiting for the volume swap (phase: ${p.status.phase})`,
      accept: (a) => {
        this.swapped ??= a;
        return `volume swap recorded for ${wf}`;
      },
    });
  }

  /** An operator's answer counts only while it is awaited: the signal is otherwise ignored (and recorded), the update refused. */
  private answerWhileAwaited<A extends Actor>(
    what: 'approval' | 'swap',
    signal: SignalDefinition<[A]>,
    update: UpdateDefinition<string, [A]>,
    words: { ignored: string; refused: () => string; accept: (a: A) => string },
  ): void {
    setHandler(signal, (sent) => {
      const a = boundedText(sent);
      if (this.awaiting === what) words.accept(a);
      else this.p.event(words.ignored, a?.by);
    });
    setHandler(update, (a) => words.accept(a ?? ({} as A)), {
      validator: (a) => {
        const tooLong = operatorTextProblem(a);
        if (tooLong) throw new Error(tooLong);
        if (this.awaiting !== what) throw new Error(words.refused());
      },
    });
  }

  private async integrity(what: string): Promise<Check> {
    return brief(await this.p.step(what, () => this.p.long.checkAtlasDb()));
  }

  /** Lock: no other procedure changes atlas.db meanwhile. */
  private async lock(): Promise<void> {
    this.p.phase('lock', 'Checking that no other procedure is changing atlas.db.');
    await this.hold.lock();
    await this.p.record(`corruption recovery started${this.args.trigger ? `: ${this.args.trigger}` : ''}`, this.args.requestedBy);
  }

  /**
   * Stop: the schedules that touch atlas.db paused and the flag set; runs still going are not
   * waited on for long. Monitoring (health, the alert digest) keeps running, so a wait pages.
   */
  private async stop(): Promise<void> {
    const { p, hold } = this;
    p.phase('stop', `Pausing the schedules that touch atlas.db (${TOUCHING_ATLAS_DB.join(', ')}) and setting the maintenance flag; health checks and the alert digest keep running.`);
    await hold.pauseAndFlag(TOUCHING_ATLAS_DB, 'corruption recovery');
    this.result.pausedSchedules = hold.pausedSchedules;
    // Litestream must not ship a snapshot of a corrupt file, nor hold the WAL Option A folds.
    await p.step('stop the replicator', () => p.acts.pauseReplicator());
    try {
      await hold.drain(this.args.drainTimeout ?? p.context.defaults.drainTimeout);
    } catch (err) {
      // Runs still going will fail on the damaged file anyway; recovery must not wait on them.
      await p.record(`continuing with runs still going: ${(err as Error).message}`);
    }
  }

  private async check(): Promise<Check> {
    this.p.phase('check', 'PRAGMA integrity_check on atlas.db.');
    const initial = await this.integrity('integrity check');
    this.result.initialCheck = initial;
    return initial;
  }

  private async assess(initial: Check): Promise<Assessment> {
    const { p } = this;
    p.phase('assess', 'Tables readable, WAL and SHM sizes, backups and their verification.');
    const assessment = await p.step('assess', () => p.acts.assessAtlasDb());
    this.result.assessment = assessment;
    await p.record(`assessment: integrity ${initial.ok ? 'ok' : `failed (${initial.problems.slice(0, 2).join('; ')})`}, WAL ${assessment.walBytes} bytes, ${assessment.backups.filter((b) => b.verified).length} verified backups`);
    return assessment;
  }

  /** Option A: keep the files, checkpoint the WAL, check again. */
  private async optionA(): Promise<boolean> {
    const { p, result } = this;
    p.phase('option-a', 'Option A: keeping a copy of the files, then PRAGMA wal_checkpoint(FULL) and checking again.');
    // The copy and the checkpoint change what the app sees: only with no other process holding the files.
    const a = await this.hold.swap('Option A (WAL checkpoint)', async () => {
      result.evidenceKept.push(...(await p.step('keep evidence', () => p.long.preserveEvidence({ suffix: `pre-checkpoint-${this.ts}` }))));
      return p.step('WAL checkpoint', () => p.long.checkpointAtlasDb());
    });
    const after = await this.integrity('integrity check after checkpoint');
    result.optionA = { ...a, checkAfter: after };
    await p.record(`Option A: checkpoint ${a.ok ? `done (${a.checkpointed}/${a.walFrames} frames)` : `failed${a.error ? `: ${a.error}` : ''}`}; integrity ${after.ok ? 'ok' : 'still failing'}`);
    if (after.ok) result.method = 'A';
    return after.ok;
  }

  /**
   * After A: R (the replica's newest point) or B (the newest good backup), whichever loses less,
   * measured. R is rebuilt into a staging file and checked before the choice; the other is the
   * fallback when the chosen one does not make atlas.db sound.
   */
  private async optionRorB(assessment: Assessment): Promise<boolean> {
    const { p, result } = this;
    p.phase('option-r', 'Option R: rebuilding the replica\'s newest point into a staging file and checking it, to weigh it against the newest backup.');
    const r: ReplicaCandidate = (await p.step('stage replica', () => p.long.stageReplica({ suffix: this.ts, detectedAt: result.detectedAt }), { skippable: true })).value ?? { available: false, why: 'the step was skipped' };
    result.optionR = r;
    const detected = Date.parse(result.detectedAt);
    const newest = assessment.backups.find((b) => b.verified && b.createdAt);
    const bLoss = newest?.createdAt ? Math.max(0, detected - Date.parse(newest.createdAt)) : undefined;
    const candidates: RecoveryCandidate[] = [
      { option: 'A', available: false, dataLossWindowMs: 0, why: result.optionA ? 'tried first (it loses nothing): the checkpoint did not make atlas.db sound' : 'no WAL to checkpoint' },
      { option: 'R', available: r.available, dataLossWindowMs: r.dataLossWindowMs, why: r.available ? `the replica's newest point ${r.point}` : r.why ?? 'unavailable' },
      { option: 'B', available: newest !== undefined, dataLossWindowMs: bLoss, why: newest ? `the newest verified backup ${newest.name} (${newest.createdAt})` : 'no verified backup' },
    ];
    const useR = r.available && (bLoss === undefined || (r.dataLossWindowMs ?? Infinity) <= bLoss);
    const ms = (x?: number) => (x === undefined ? 'unknown' : formatDuration(Math.max(1, x)));
    const why = useR
      ? `R loses ${ms(r.dataLossWindowMs)} of writes, B ${newest ? ms(bLoss) : 'everything (no verified backup)'}`
      : r.available ? `B loses ${ms(bLoss)}, R ${ms(r.dataLossWindowMs)}` : `R is unavailable (${r.why}); B loses ${ms(bLoss)}`;
    result.choice = { candidates, chosen: useR ? 'R' : 'B', why };
    await p.record(`chose ${useR ? 'R (replica)' : 'B (backup)'}: ${why}`);
    if (useR) {
      if (await this.optionR()) return true;
    } else if (r.available) {
      await p.step('discard staged replica', () => p.acts.discardStagedReplica({ suffix: this.ts }), { skippable: true });
    }
    return this.optionB();
  }

  /** Option R: the staged replica swapped in; the corrupt files are kept. */
  private async optionR(): Promise<boolean> {
    const { p, result } = this;
    const restored = await this.hold.swap(
      'Option R (restore of the replica\'s newest point)',
      () => p.step('restore staged replica', () => p.long.restoreStagedReplica({ suffix: this.ts, keepSuffix: `corrupted-${this.ts}` }), { skippable: true, fatal: [failure.DbHeld.type] }),
      { refusesItself: true },
    );
    if (!restored.value) return false;
    result.evidenceKept.push(...restored.value.keptAs);
    const after = await this.integrity('integrity check after replica restore');
    result.optionR = { ...result.optionR!, keptAs: restored.value.keptAs, checkAfter: after };
    await p.record(`Option R: restored the replica's point ${result.optionR.point}; data-loss window ${result.optionR.dataLossWindowMs !== undefined ? formatDuration(Math.max(1, result.optionR.dataLossWindowMs)) : 'unknown'}`);
    if (after.ok) result.method = 'R';
    return after.ok;
  }

  /** Option B: the newest backup that passes integrity_check; the corrupt files are kept. */
  private async optionB(): Promise<boolean> {
    const { p, result } = this;
    p.phase('option-b', 'Option B: restoring the newest backup that passes integrity_check; the corrupt files are kept.');
    const b = await this.hold.swap('Option B (restore of the newest good backup)', () =>
      p.step('restore newest good backup', () => p.long.restoreNewestGoodBackup({ keepSuffix: `corrupted-${this.ts}`, detectedAt: result.detectedAt }), { fatal: [failure.DbHeld.type] }),
      { refusesItself: true },
    );
    result.evidenceKept.push(...b.keptAs);
    if (!b.restoredFrom) {
      result.optionB = b;
      await p.record(`Option B: no backup passes integrity_check (${b.rejected.length} rejected)`);
      return false;
    }
    const after = await this.integrity('integrity check after restore');
    result.optionB = { ...b, checkAfter: after };
    await p.record(`Option B: restored ${b.restoredFrom}; data-loss window ${b.dataLossWindowMs !== undefined ? formatDuration(b.dataLossWindowMs) : 'unknown'}; rows lost ${JSON.stringify(b.rowsLost)}`);
    if (after.ok) result.method = 'B';
    return after.ok;
  }

  /** Option C: with approval, a volume from an OCI backup, swapped in by the operator. */
  private async optionC(): Promise<boolean> {
    if (!this.args.allowOci) return false;
    this.p.phase('option-c', 'Option C: restoring the block volume from an OCI backup, after approval.');
    const available = await this.availableOciBackups();
    if (!available.length) {
      this.ociUnavailable ??= 'no OCI volume backup is AVAILABLE';
      await this.p.record(`Option C not possible: ${this.ociUnavailable}`);
      return false;
    }
    const backupId = await this.approveOciRestore(available[0]!);
    const volumeId = await this.createVolume(backupId);
    // Read-only, before anything is swapped: refuses an attachment for another instance, a volume attached elsewhere.
    const plan = await this.p.step('plan the volume swap', () => this.p.acts.ociSwapPlan({ restoredVolumeId: volumeId }), { fatal: [failure.VolumeSwapRefused.type] });
    // Unmounted only with the app stopped and nobody else holding atlas.db.
    await this.hold.swap(`the volume swap to ${volumeId}`, () => (plan.automatic ? this.swapVolume(volumeId, plan) : this.waitForSwap(volumeId)));
    const after = await this.integrity('integrity check after volume swap');
    this.result.optionC!.checkAfter = after;
    if (after.ok) this.result.method = 'C';
    return after.ok;
  }

  private async availableOciBackups(): Promise<OciVolumeBackup[]> {
    const { p } = this;
    try {
      const backups = await p.step('list OCI volume backups', () => p.acts.ociListVolumeBackups(), { fatal: [failure.OciNotConfigured.type] });
      return backups.filter((b) => b.lifecycleState === 'AVAILABLE');
    } catch (err) {
      if (!failure.OciNotConfigured.is(err)) throw err;
      this.ociUnavailable = err.message;
      return [];
    }
  }

  private async approveOciRestore(newest: OciVolumeBackup): Promise<string> {
    const { p, wf } = this;
    this.awaiting = 'approval';
    p.details(
      `A and B failed. Option C replaces the **whole block volume** with OCI backup \`${newest.id}\` (${newest.timeCreated}): ` +
        'a volume is made from it; then, with `oci.instanceId` set, atlas-ops stops the app, keeps its own files off the volume, unmounts and detaches the data volume, attaches and mounts the restored one and copies its files back (only atlas.db rolls back); without it, you swap the volume.\n\n' +
        `Approve: \`atlas-ops recover corruption --approve-oci ${shellQuote(wf)}\`, or send signal \`approveOciRestore\` with \`{"by": "<you>"}\` ` +
        `(optionally \`"backupId"\`). To refuse: signal \`abort\`.`,
    );
    await p.waitForPerson(`approval to restore the block volume from OCI backup ${newest.id}`, 'oci-approval', () => this.approval !== undefined, this.personWait('oci-approval', 'no approval of Option C'));
    this.awaiting = undefined;
    const approval = this.approval!;
    const backupId = approval.backupId ?? newest.id;
    this.result.optionC = { backupId, approvedBy: approval.by };
    await p.record(`Option C approved: restore from ${backupId}`, approval.by);
    return backupId;
  }

  private async createVolume(backupId: string): Promise<string> {
    const { p, wf } = this;
    const volume = await p.step('create volume from OCI backup', () => p.long.ociRestoreVolume({ backupId, displayName: `atlas-restored-${this.ts}`, idempotencyKey: `${wf}/oci-restore` }));
    this.result.optionC!.volumeId = volume.volumeId;
    return volume.volumeId;
  }

  /**
   * The swap without a person (docs/procedures.md#option-c-the-volume-swap): atlas-ops' files off the
   * volume, unmount, detach, attach the restored volume, mount it by UUID, the files back. Each step
   * is idempotent, each wait for OCI pages and has its timeout outcome.
   */
  private async swapVolume(volumeId: string, plan: SwapPlan): Promise<void> {
    const { p, wf } = this;
    const device = plan.device!;
    const old = plan.oldAttachment;
    p.phase('option-c-swap', `Swapping the data volume${old ? ` (attachment \`${old.id}\`)` : ''} for \`${volumeId}\` at ${device}, mounted at ${plan.mountPoint}; atlas-ops' own files are carried across.`);
    const kept = await p.step('keep atlas-ops files off the volume', () => p.long.stashVolumeState(), { fatal: [failure.VolumeSwapRefused.type] });
    this.stashDir = kept.dir;
    this.midSwap = 'unmounting the data volume';
    await p.record(`kept ${kept.entries.join(', ')} (${kept.bytes} bytes, all but atlas.db) in ${kept.dir}/files for the volume swap`);
    await p.step('unmount the data volume', () => p.acts.unmountDataVolume());
    if (old) {
      this.midSwap = `detaching the data volume (attachment ${old.id})`;
      await p.step('detach the data volume', () => p.acts.ociDetachVolume({ attachmentId: old.id }));
      await this.waitForAttachment(old.id, 'DETACHED', `the data volume's attachment ${old.id}`, kept.dir);
      await p.record(`detached the data volume (attachment ${old.id})`);
    }
    this.midSwap = `attaching ${volumeId}`;
    const attached = await p.step('attach the restored volume', () => p.acts.ociAttachVolume({ volumeId, device, idempotencyKey: `${wf}/oci-attach` }), { fatal: [failure.VolumeSwapRefused.type] });
    await this.waitForAttachment(attached.id, 'ATTACHED', `the restored volume ${volumeId} (attachment ${attached.id})`, kept.dir);
    this.midSwap = `mounting ${volumeId} (attachment ${attached.id}, ${device})`;
    const mounted = await p.step('mount the restored volume', () => p.acts.mountRestoredVolume({ device }));
    await p.record(`attached ${volumeId} at ${device} (attachment ${attached.id}) and mounted UUID=${mounted.uuid} at ${plan.mountPoint}`);
    this.midSwap = `copying atlas-ops' files back from ${kept.dir}/files`;
    const back = await p.step('bring atlas-ops files back', () => p.long.unstashVolumeState());
    this.midSwap = undefined;
    this.result.optionC!.swap = { instanceId: plan.instanceId!, ...(old ? { detached: old.id } : {}), attachmentId: attached.id, device, uuid: mounted.uuid, mountPoint: plan.mountPoint, carried: back.restored.length ? back.restored : kept.entries };
    await p.record(`copied atlas-ops' files back onto the restored volume (${kept.entries.join(', ')}): only atlas.db is rolled back`);
  }

  /**
   * Waits for an attachment to be `want`: pages after `oci.attachPageAfter`, and after
   * `oci.attachTimeout` ends the recovery saying what is where and what to do next.
   */
  private async waitForAttachment(attachmentId: string, want: 'ATTACHED' | 'DETACHED', what: string, stash: string): Promise<void> {
    const { p, wf } = this;
    const { attachPageAfter, attachTimeout } = p.context.recovery;
    const code = `corruption-oci-${want.toLowerCase()}:${wf}`;
    p.setWaiting(`${what} to be ${want}`, 'oci-attachment');
    let paged = false;
    try {
      let r = await p.long.ociWaitForAttachment({ attachmentId, want, forMs: attachPageAfter });
      if (!r.reached) {
        paged = true;
        await p.acts.raiseAlert({ code, level: 'critical', message: `page: corruptionRecovery ${wf} has waited ${formatDuration(attachPageAfter)} for ${what} to be ${want} (it is ${r.state})` });
        r = await p.long.ociWaitForAttachment({ attachmentId, want, forMs: Math.max(1, attachTimeout - attachPageAfter) });
      }
      if (!r.reached) {
        throw failure.VolumeAttachTimeout(`${what} is still ${r.state} after ${formatDuration(attachTimeout)}: corruption recovery ends here. ${this.midSwapAdvice(stash)}`);
      }
    } finally {
      p.setWaiting(undefined);
      if (paged) await this.hold.undo.resolveAlert({ code, resolution: `${what}: wait over` });
    }
  }

  /** Where things are when the swap stops half-way (a timeout, an abort), and what a person does next. */
  private midSwapAdvice(stash: string): string {
    return (
      `The swap stopped at: ${this.midSwap ?? 'the stash'}. The app units stay stopped, the schedules that touch atlas.db stay paused; ` +
      `atlas-ops' files (ops.db, backups/, run/, …) are in ${stash}, which atlas-ops uses meanwhile. Next: check the attachments in the OCI console; once the restored volume is attached and mounted, ` +
      `copy ${stash}/files/ over the mount point (all but data/atlas.db), remove ${stash}, and start \`atlas-ops recover corruption\` again to check atlas.db.`
    );
  }

  private async waitForSwap(volumeId: string): Promise<void> {
    const { p, wf } = this;
    this.awaiting = 'swap';
    p.details(`Volume \`${volumeId}\` is AVAILABLE. Detach the current volume, attach and mount \`${volumeId}\` at the Atlas home, then signal \`attachmentSwapped\` (\`atlas-ops recover corruption --swapped ${shellQuote(wf)}\`).`);
    await p.waitForPerson(`swap the volume attachment to ${volumeId}, then signal attachmentSwapped`, 'volume-swap', () => this.swapped !== undefined, this.personWait('oci-swap', `no volume swap to ${volumeId} (the volume is left as it is)`));
    this.awaiting = undefined;
    this.result.optionC!.swappedBy = this.swapped!.by;
  }

  /**
   * Every wait for a person in a recovery pages after `recovery.pageAfter` and ends after
   * `recovery.personTimeout` with its timeout outcome: the recovery fails in its safe state
   * (docs/safety.md#monitoring-never-pauses-for-a-recovery).
   */
  private personWait(what: string, outcome: string) {
    const { pageAfter, personTimeout } = this.p.context.recovery;
    return {
      alertCode: `corruption-${what}:${this.wf}`,
      pageAfter,
      timeout: personTimeout,
      onTimeout: async () => {
        throw failure.RecoveryFailed(
          `${outcome} within ${formatDuration(personTimeout)}: corruption recovery ends here. The schedules that touch atlas.db stay paused and the maintenance flag stays set; ` +
            'restore by hand (atlas-ops db restore <backup>) or start `atlas-ops recover corruption` again.',
        );
      },
    };
  }

  private unrecoverable(): ApplicationFailure {
    const { result } = this;
    return failure.RecoveryFailed(
      `atlas.db could not be recovered (A: ${result.optionA ? 'failed' : 'not applicable'}, R: ${result.choice?.chosen === 'R' ? 'restored but still failing' : result.optionR?.available ? 'not chosen' : result.optionR?.why ?? 'not tried'}, B: ${result.optionB?.restoredFrom ? 'restored but still failing' : 'no good backup'}, C: ${this.args.allowOci ? (this.ociUnavailable ?? 'failed') : 'not allowed'}). ` +
        'Schedules stay paused and the maintenance flag stays set. Restore by hand (atlas-ops db restore <backup>) or from an OCI volume backup; the corrupt files are kept in data/.',
    );
  }

  /** Resume: flag cleared, schedules unpaused, the database probed, the corruption alert resolved. */
  private async resume(): Promise<void> {
    const { p, result, wf } = this;
    p.phase('resume', 'Clearing the maintenance flag, unpausing the schedules, probing the database.');
    result.unpausedSchedules = await this.hold.release();
    await p.step('start the replicator from the recovered atlas.db', () => p.acts.resumeReplicator(), { skippable: true });
    const probe = (await p.step('probe database', () => p.acts.probeAtlasDb(), { skippable: true })).value;
    if (probe) result.probe = { journalMode: probe.journalMode, walSwitchedOn: probe.walSwitchedOn, rowCounts: probe.rowCounts };
    await p.acts.resolveAlert({ code: CORRUPTION_ALERT, resolution: result.found === 'sound' ? 'integrity_check passes: no corruption found' : `recovered with Option ${result.method} by ${wf}` });
    result.phaseMs = p.phaseDurations();
    p.finish('completed', result.found === 'sound' ? 'atlas.db passes integrity_check; nothing was restored.' : `Recovered with Option ${result.method}. Corrupt files kept: ${result.evidenceKept.join(', ') || 'none'}.`);
    await p.record(`corruption recovery finished: database was ${result.found}, method ${result.method}`);
  }

  /** A failure keeps the safe state for a database that may still be corrupt: paused, flagged, alerted. */
  async undo(exit: Exit): Promise<void> {
    if (exit.kind !== 'failed') return;
    // Gave up on a process holding atlas.db: nothing was replaced, so what was paused runs again.
    if (failure.DbHeld.is(exit.error)) this.result.unpausedSchedules = await this.hold.release();
    await this.hold.undo.raiseAlert({ code: `corruption-recovery-failed:${this.wf}`, level: 'critical', message: `corruptionRecovery ${this.wf} failed: ${exit.error.message}` });
  }

  async aborted(actor: Actor): Promise<void> {
    this.result.outcome = 'aborted';
    if (this.midSwap) {
      // Half-way through the volume swap nothing may run again on an empty mount point: the safe state stays.
      this.result.phaseMs = this.p.phaseDurations();
      this.p.finish('aborted', `Aborted${actor.by ? ` by ${actor.by}` : ''} during the volume swap. ${this.midSwapAdvice(this.stashDir!)}`);
      await this.p.record(`corruption recovery aborted during the volume swap (${this.midSwap})${actor.note ? `: ${actor.note}` : ''}`, actor.by);
      return;
    }
    this.result.unpausedSchedules = await this.hold.abort(actor, `Files kept: ${this.result.evidenceKept.join(', ') || 'none'}.`);
    this.result.phaseMs = this.p.phaseDurations();
  }

  async release(): Promise<void> {
    await this.hold.end();
  }
}
