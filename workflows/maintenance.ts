// The runbook's Standard Workflow: Pause → Snapshot → Edit → Resume.
import { ApplicationFailure, defineSignal, defineUpdate, setHandler } from '@temporalio/workflow';
import type { BackupManifest } from '../src/db/snapshot';
import { formatDuration } from '../src/workflow-safe/duration';
import { SYNC_AND_BACKUP } from '../src/workflow-safe/schedule-names';
import { inputObject, optionalBoolean, optionalDuration, optionalString, rejectUnknown } from './lib/input';
import { stamp } from '../src/workflow-safe/stamp';
import { AbortRequested, Procedure, RollbackRequested, type Actor } from './lib/procedure';
import { failure } from '../src/workflow-safe/failures';

export interface MaintenanceInput {
  reason?: string;
  requestedBy?: string;
  /** Also take an OCI block-volume backup. */
  oci?: boolean;
  /** Start sqlite-web on 127.0.0.1 for the edit. */
  sqliteWeb?: boolean;
  /** "4h", "30m" or milliseconds; after it a critical alert, and the wait goes on. */
  editTimeout?: string | number;
  reminderInterval?: string | number;
  drainTimeout?: string | number;
  decisionTimeout?: string | number;
  /** Host activity queue override (multi-host setups). */
  hostQueue?: string;
}

export interface ResumeInput extends Actor {
  /** Resume even though integrity_check failed on the edited database. */
  force?: boolean;
}

export interface MaintenanceResult {
  outcome: 'completed' | 'aborted' | 'rolled-back';
  workflowId: string;
  reason: string;
  snapshot?: { path: string; file: string; sha256: string; size: number; rowCounts: Record<string, number> };
  ociBackup?: { skipped: boolean; backupId?: string };
  pausedSchedules: string[];
  leftPaused: string[];
  unpausedSchedules: string[];
  phaseMs: Record<string, number>;
  resumedBy?: string;
  note?: string;
  forced?: boolean;
  integrity?: { ok: boolean; problems: string[] };
  editedFileKeptAs?: string[];
  abortedBy?: string;
  probe?: { journalMode: string; walSwitchedOn: boolean };
  sqliteWeb?: { started: boolean; url?: string; hint: string };
}

export const resumeSignal = defineSignal<[ResumeInput]>('resume');
/** The CLI's resume: validated, so it fails at once when the procedure is not waiting for edits. */
export const resumeUpdate = defineUpdate<string, [ResumeInput]>('resumeEdits');
export const rollbackSignal = defineSignal<[Actor]>('rollback');

const FIELDS = ['reason', 'requestedBy', 'oci', 'sqliteWeb', 'editTimeout', 'reminderInterval', 'drainTimeout', 'decisionTimeout', 'hostQueue'] as const;

type Stage = 'preparing' | 'edit' | 'verify-failed' | 'finishing';

export async function maintenance(rawInput?: MaintenanceInput): Promise<MaintenanceResult> {
  const input = inputObject(rawInput, 'maintenance');
  rejectUnknown(input, FIELDS);
  const reason = optionalString(input, 'reason') ?? 'maintenance';
  const requestedBy = optionalString(input, 'requestedBy');
  const wantOci = optionalBoolean(input, 'oci') ?? false;
  const wantSqliteWeb = optionalBoolean(input, 'sqliteWeb') ?? false;
  const editTimeoutIn = optionalDuration(input, 'editTimeout');
  const reminderInterval = optionalDuration(input, 'reminderInterval');
  const drainTimeoutIn = optionalDuration(input, 'drainTimeout');
  const decisionTimeout = optionalDuration(input, 'decisionTimeout');
  const hostQueue = optionalString(input, 'hostQueue');

  const p = await Procedure.start('maintenance', { reminderInterval, decisionTimeout, hostQueue });
  const editTimeout = editTimeoutIn ?? p.context.defaults.editTimeout;
  const drainTimeout = drainTimeoutIn ?? p.context.defaults.drainTimeout;
  const undo = p.undo;
  const wf = p.workflowId;
  const result: MaintenanceResult = { outcome: 'completed', workflowId: wf, reason, pausedSchedules: [], leftPaused: [], unpausedSchedules: [], phaseMs: {} };
  p.status.facts = result as unknown as Record<string, unknown>;

  let stage: Stage = 'preparing';
  let edits: ResumeInput | undefined;
  let forced: ResumeInput | undefined;
  let rollbackReq: Actor | undefined;
  let lockHeld = false;
  let flagSet = false;
  let bannerSet = false;
  let sqliteWebStarted = false;
  let snapshot: BackupManifest | undefined;

  const acceptResume = (r: ResumeInput | undefined) => {
    const by = r?.by;
    if (stage === 'edit') edits = r ?? {};
    else if (stage === 'verify-failed' && r?.force) forced = r;
    else p.event(`ignored resume: ${stage === 'verify-failed' ? 'integrity_check failed; resume needs {"force": true}, or send rollback' : `not waiting for edits (phase ${p.status.phase})`}`, by);
  };
  setHandler(resumeSignal, acceptResume);
  setHandler(resumeUpdate, (r) => {
    acceptResume(r);
    return `resume accepted for ${wf}`;
  }, {
    validator: (r) => {
      if (stage === 'edit') return;
      if (stage === 'verify-failed') {
        if (r?.force) return;
        throw new Error('integrity_check failed on the edited database: resume with --force, or roll back (atlas-ops maintenance abort --rollback)');
      }
      throw new Error(`maintenance ${wf} is not waiting for edits (phase: ${p.status.phase})`);
    },
  });
  setHandler(rollbackSignal, (a) => {
    if (stage === 'verify-failed' || stage === 'edit') rollbackReq = a ?? {};
    else p.event(`ignored rollback: nothing to roll back in phase ${p.status.phase}`, a?.by);
  });

  const restoreSnapshot = async (actor: Actor) => {
    if (!snapshot) return;
    const restored = await p.undoLong.restoreAtlasDb({ backup: snapshot.file, keepSuffix: `failed-edit-${stamp(Date.now())}` });
    result.editedFileKeptAs = restored.keptAs;
    await p.record(`rolled back to ${snapshot.file}; edited database kept as ${restored.keptAs.join(', ')}`, actor.by);
  };

  const clearBanner = async () => {
    await undo.sheetsSetBanner({ banner: '' });
    bannerSet = false;
  };

  /** Back to the safe state: no sqlite-web, no flag, the schedules it paused running again. */
  const undoAll = async () => {
    if (sqliteWebStarted) await undo.stopSqliteWeb();
    if (flagSet) await undo.clearMaintenanceFlag();
    if (bannerSet) await clearBanner();
    if (result.pausedSchedules.length) {
      result.unpausedSchedules = await undo.unpauseSchedules({ names: result.pausedSchedules, workflowId: wf, procedure: 'maintenance' });
    }
  };

  try {
    p.phase('lock', 'Checking that no other procedure is changing atlas.db.');
    await p.step('acquire atlas.db lock', () => p.acts.acquireDbLock({ holder: wf, procedure: 'maintenance' }));
    lockHeld = true;
    await p.record(`maintenance started: ${reason}`, requestedBy);

    p.phase('pause', `Pausing ${SYNC_AND_BACKUP.join(', ')} schedules and waiting for their running runs to finish.`);
    const pause = (await p.step('pause schedules', () => p.acts.pauseSchedules({ names: [...SYNC_AND_BACKUP], workflowId: wf, procedure: 'maintenance' }))).value!;
    result.pausedSchedules = pause.paused;
    result.leftPaused = pause.alreadyPaused;
    await p.step('wait for running syncs and backups', () =>
      p.long.waitForSchedulesIdle({ names: [...pause.paused, ...pause.alreadyPaused], timeoutMs: drainTimeout }),
    );

    p.phase('snapshot', 'Taking a verified local backup of atlas.db.');
    snapshot = (await p.step('snapshot', () => p.long.snapshotAtlasDb({ reason: `maintenance ${wf}: ${reason}`, idempotencyKey: `${wf}/snapshot` }))).value!;
    result.snapshot = { path: `backups/${snapshot.file}`, file: snapshot.file, sha256: snapshot.sha256, size: snapshot.size, rowCounts: snapshot.rowCounts };
    await p.record(`snapshot ${snapshot.file} verified (${snapshot.size} bytes, sha256 ${snapshot.sha256.slice(0, 12)}…)`);
    if (wantOci) {
      const oci = await p.step('OCI volume backup', () => p.long.ociVolumeBackup({ displayName: `maintenance-${stamp(Date.now())}`, idempotencyKey: `${wf}/oci` }), { skippable: true });
      result.ociBackup = { skipped: oci.skipped, backupId: oci.value?.backupId };
    }

    p.phase('edit', 'Setting the maintenance flag.');
    await p.step('set maintenance flag', () => p.acts.setMaintenanceFlag({ workflowId: wf, reason }));
    flagSet = true;
    if (p.context.sheetsConfigured) {
      // Best effort (the activity never throws): the people in the sheet learn why nothing syncs.
      await p.acts.sheetsSetBanner({ banner: `Approvals sync is paused for maintenance (${reason}) since ${new Date().toISOString()}: decisions typed now are applied after it.` });
      bannerSet = true;
    }
    let how = `sqlite3 ${p.context.atlasDb}`;
    if (wantSqliteWeb) {
      const web = await p.step('start sqlite-web', () => p.acts.startSqliteWeb({ port: p.context.sqliteWebPort }), { skippable: true });
      if (web.value) {
        result.sqliteWeb = web.value;
        sqliteWebStarted = web.value.started;
        how = web.value.started ? `sqlite-web at ${web.value.url} (${web.value.hint})` : web.value.hint;
      }
    }
    stage = 'edit';
    p.details(
      `Schedules paused, snapshot \`${snapshot.file}\` verified, maintenance flag set.\n\n` +
        `**Edit now** with ${how}.\n\n` +
        `When done: \`atlas-ops maintenance resume ${wf} --by <you> --note "<what you changed>"\`, ` +
        `or send signal \`resume\` with \`{"by": "<you>", "note": "…"}\` here. ` +
        `To give up: signal \`abort\` (\`{"rollback": true}\` also restores the snapshot).\n\n` +
        `A critical alert is raised after ${formatDuration(editTimeout)}; nothing resumes by itself.`,
    );
    await p.waitForPerson('edits to atlas.db, then resume', 'edits', () => edits !== undefined || rollbackReq !== undefined, {
      alertCode: `maintenance-edit:${wf}`,
      timeout: editTimeout,
      onTimeout: async () => {
        await p.acts.raiseAlert({
          code: `maintenance-edit-timeout:${wf}`,
          level: 'critical',
          message: `maintenance ${wf} has been editing for over ${formatDuration(editTimeout)}; schedules stay paused until someone resumes or aborts it`,
        });
      },
    });
    await p.acts.resolveAlert({ code: `maintenance-edit-timeout:${wf}`, resolution: 'edit ended' });
    if (rollbackReq) throw new RollbackRequested(rollbackReq);
    stage = 'finishing';
    result.resumedBy = edits!.by;
    result.note = edits!.note;
    await p.record(`edits done, resume${edits!.note ? `: ${edits!.note}` : ''}`, edits!.by);

    p.phase('verify', 'Checking the edited database (PRAGMA integrity_check).');
    if (sqliteWebStarted) {
      await p.step('stop sqlite-web', () => p.acts.stopSqliteWeb(), { skippable: true });
      sqliteWebStarted = false;
    }
    const check = (await p.step('integrity check', () => p.long.checkAtlasDb(), { rollback: true })).value;
    result.integrity = check ? { ok: check.ok, problems: check.problems } : undefined;
    if (check && !check.ok && !edits!.force) {
      stage = 'verify-failed';
      const problems = check.problems.slice(0, 5).join('; ');
      await p.acts.raiseAlert({ code: `maintenance-integrity:${wf}`, level: 'critical', message: `maintenance ${wf}: the edited atlas.db fails integrity_check (${problems}); schedules stay paused` });
      p.details(
        `**integrity_check failed** on the edited database:\n\n> ${problems}\n\n` +
          `Roll back to \`${snapshot.file}\` (the edited file is kept): signal \`rollback\`, or \`atlas-ops maintenance abort ${wf} --rollback\`.\n` +
          `Or resume anyway: signal \`resume\` with \`{"force": true}\`, or \`atlas-ops maintenance resume ${wf} --force\`.`,
      );
      await p.waitForPerson('rollback, or a forced resume, after a failed integrity check', 'rollback-or-force', () => rollbackReq !== undefined || forced !== undefined, {
        alertCode: `maintenance-verify:${wf}`,
      });
      await p.acts.resolveAlert({ code: `maintenance-integrity:${wf}`, resolution: rollbackReq ? 'rolled back' : 'resumed with force' });
      if (rollbackReq) throw new RollbackRequested(rollbackReq);
      result.forced = true;
      await p.record('resumed with force despite failed integrity_check', forced!.by);
      stage = 'finishing';
    }

    p.phase('resume', 'Removing the maintenance flag and unpausing the schedules this procedure paused.');
    await p.step('clear maintenance flag', () => p.acts.clearMaintenanceFlag());
    flagSet = false;
    if (bannerSet) await clearBanner();
    result.unpausedSchedules = (await p.step('unpause schedules', () => p.acts.unpauseSchedules({ names: result.pausedSchedules, workflowId: wf, procedure: 'maintenance' }))).value!;
    const probe = (await p.step('probe database', () => p.acts.probeAtlasDb(), { skippable: true })).value;
    if (probe) result.probe = { journalMode: probe.journalMode, walSwitchedOn: probe.walSwitchedOn };
    p.finish('completed', `Done. Snapshot \`${snapshot.file}\`; schedules unpaused: ${result.unpausedSchedules.join(', ') || 'none'}.`);
    result.phaseMs = p.phaseDurations();
    await p.record('maintenance completed', result.resumedBy);
    return result;
  } catch (err) {
    stage = 'finishing';
    if (err instanceof AbortRequested) {
      result.outcome = 'aborted';
      result.abortedBy = err.actor.by;
      result.note = err.actor.note;
      if (sqliteWebStarted) {
        await undo.stopSqliteWeb();
        sqliteWebStarted = false;
      }
      if (err.actor.rollback) await restoreSnapshot(err.actor);
      await undoAll();
      result.phaseMs = p.phaseDurations();
      p.finish('aborted', `Aborted${err.actor.by ? ` by ${err.actor.by}` : ''}. Flag removed, schedules unpaused; snapshot kept${snapshot ? ` as \`${snapshot.file}\`` : ''}.`);
      await p.record(`maintenance aborted${err.actor.note ? `: ${err.actor.note}` : ''}`, err.actor.by);
      return result;
    }
    if (err instanceof RollbackRequested) {
      result.outcome = 'rolled-back';
      if (sqliteWebStarted) {
        await undo.stopSqliteWeb();
        sqliteWebStarted = false;
      }
      await restoreSnapshot(err.actor);
      await undoAll();
      const probe = await undo.probeAtlasDb();
      result.probe = { journalMode: probe.journalMode, walSwitchedOn: probe.walSwitchedOn };
      result.phaseMs = p.phaseDurations();
      p.finish('rolled-back', `Rolled back to \`${snapshot?.file}\`; the edited database is kept as ${result.editedFileKeptAs?.join(', ')}.`);
      return result;
    }
    // Anything else cannot continue: undo, then fail with what to do next.
    await undoAll();
    p.finish('failed', `Failed: ${(err as Error).message}`);
    if (err instanceof ApplicationFailure) throw err;
    throw failure.MaintenanceFailed(`maintenance ${wf} failed: ${(err as Error).message}`, { cause: err as Error });
  } finally {
    if (lockHeld) await undo.releaseDbLock({ holder: wf });
  }
}
