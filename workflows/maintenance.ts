// The runbook's Standard Workflow: Pause → Snapshot → Edit → Resume.
import { ActivityFailure, defineSignal, defineUpdate, setHandler } from '@temporalio/workflow';
import type { BackupManifest } from '../src/db/snapshot';
import { formatDuration } from '../src/workflow-safe/duration';
import { SYNC_AND_BACKUP } from '../src/workflow-safe/schedule-names';
import { DECISION_TIMEOUT, DRAIN_TIMEOUT, HOME, HOST_QUEUE, REMINDER_INTERVAL, inputTable, type ArgsOf, type InputOf } from './lib/input';
import { DURATION_MIN } from '../src/workflow-safe/limits';
import { stamp } from '../src/workflow-safe/stamp';
import { DbHold } from './lib/db-hold';
import { RollbackRequested, boundedText, operatorTextProblem, type Actor, type Procedure } from './lib/procedure';
import { runProcedure, type Exit, type ProcedureBody } from './lib/template';
import { failure } from '../src/workflow-safe/failures';
import { shellQuote } from '../src/workflow-safe/shell-quote';

export const MAINTENANCE_INPUT = inputTable([
  { name: 'reason', type: 'text', default: 'maintenance', doc: 'Why: shown in the Web UI, the maintenance flag and the sheet banner.' },
  { name: 'requestedBy', type: 'string', doc: 'Who asked for it (recorded in ops.db).' },
  { name: 'oci', type: 'boolean', default: false, doc: 'Also take an OCI block-volume backup.' },
  { name: 'sqliteWeb', type: 'boolean', default: false, doc: 'Start sqlite-web on 127.0.0.1 for the edit.' },
  { name: 'editTimeout', type: 'duration', min: DURATION_MIN.editTimeout, doc: '"4h", "30m" or milliseconds; after it a critical alert, and the wait goes on.' },
  REMINDER_INTERVAL,
  DRAIN_TIMEOUT,
  DECISION_TIMEOUT,
  HOST_QUEUE,
  HOME,
]);

export type MaintenanceInput = InputOf<typeof MAINTENANCE_INPUT>;

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
export const resumeUpdate = defineUpdate<string, [ResumeInput]>('resumeChecked');
export const rollbackSignal = defineSignal<[Actor]>('rollback');

/** Where the edit stands, for the resume and rollback handlers. */
type Stage = 'preparing' | 'edit' | 'verify-failed' | 'finishing';

export function maintenance(input?: MaintenanceInput): Promise<MaintenanceResult> {
  return runProcedure({ name: 'maintenance', input: MAINTENANCE_INPUT, failure: failure.MaintenanceFailed, keepCause: true }, input, (p, args) => new Maintenance(p, args));
}

class Maintenance implements ProcedureBody<MaintenanceResult> {
  readonly result: MaintenanceResult;
  private readonly hold: DbHold;
  private readonly wf: string;
  private stage: Stage = 'preparing';
  private edits?: ResumeInput;
  private forced?: ResumeInput;
  private rollbackReq?: Actor;
  private sqliteWebStarted = false;
  private snapshotTaken?: BackupManifest;

  constructor(private readonly p: Procedure, private readonly args: ArgsOf<typeof MAINTENANCE_INPUT>) {
    this.wf = p.workflowId;
    this.hold = new DbHold(p, 'maintenance');
    this.result = { outcome: 'completed', workflowId: this.wf, reason: args.reason, pausedSchedules: [], leftPaused: [], unpausedSchedules: [], phaseMs: {} };
    this.handleSignals();
  }

  async run(): Promise<void> {
    await this.lock();
    await this.pause();
    const snapshot = await this.snapshot();
    await this.edit(snapshot);
    await this.verify(snapshot);
    await this.resume(snapshot);
  }

  private handleSignals(): void {
    const { p, wf } = this;
    const acceptResume = (r: ResumeInput | undefined) => {
      if (this.stage === 'edit') this.edits = r ?? {};
      else if (this.stage === 'verify-failed' && r?.force) this.forced = r;
      else p.event(`ignored resume: ${this.stage === 'verify-failed' ? 'integrity_check failed; resume needs {"force": true}, or send rollback' : `not waiting for edits (phase ${p.status.phase})`}`, r?.by);
    };
    setHandler(resumeSignal, (r) => acceptResume(boundedText(r)));
    setHandler(resumeUpdate, (r) => {
      acceptResume(r);
      return `resume accepted for ${wf}`;
    }, {
      validator: (r) => {
        const tooLong = operatorTextProblem(r);
        if (tooLong) throw new Error(tooLong);
        if (this.stage === 'edit') return;
        if (this.stage === 'verify-failed') {
          if (r?.force) return;
          throw new Error('integrity_check failed on the edited database: resume with --force, or roll back (atlas-ops maintenance abort --rollback)');
        }
        throw new Error(`maintenance ${wf} is not waiting for edits (phase: ${p.status.phase})`);
      },
    });
    setHandler(rollbackSignal, (sent) => {
      const a = boundedText(sent);
      if (this.stage === 'verify-failed' || this.stage === 'edit') this.rollbackReq = a ?? {};
      else p.event(`ignored rollback: nothing to roll back in phase ${p.status.phase}`, a?.by);
    });
  }

  /** Lock: no other procedure changes atlas.db meanwhile. */
  private async lock(): Promise<void> {
    this.p.phase('lock', 'Checking that no other procedure is changing atlas.db.');
    await this.hold.lock();
    await this.p.record(`maintenance started: ${this.args.reason}`, this.args.requestedBy);
  }

  /** Pause: the sync and backup schedules, then wait for their running runs. */
  private async pause(): Promise<void> {
    const { p, hold } = this;
    p.phase('pause', `Pausing ${SYNC_AND_BACKUP.join(', ')} schedules and waiting for their running runs to finish.`);
    await hold.pause(SYNC_AND_BACKUP);
    this.result.pausedSchedules = hold.pausedSchedules;
    this.result.leftPaused = hold.alreadyPaused;
    const drainTimeout = this.args.drainTimeout ?? p.context.defaults.drainTimeout;
    await p.step('wait for running syncs and backups', () => hold.drain(drainTimeout));
  }

  /** Snapshot: a verified local backup (and an OCI one when asked) to roll back to. */
  private async snapshot(): Promise<BackupManifest> {
    const { p, wf, result } = this;
    p.phase('snapshot', 'Taking a verified local backup of atlas.db.');
    const snapshot = await p.step('snapshot', () => p.long.snapshotAtlasDb({ reason: `maintenance ${wf}: ${this.args.reason}`, idempotencyKey: `${wf}/snapshot` }));
    this.snapshotTaken = snapshot;
    result.snapshot = { path: `backups/${snapshot.file}`, file: snapshot.file, sha256: snapshot.sha256, size: snapshot.size, rowCounts: snapshot.rowCounts };
    await p.record(`snapshot ${snapshot.file} verified (${snapshot.size} bytes, sha256 ${snapshot.sha256.slice(0, 12)}…)`);
    if (this.args.oci) {
      const oci = await p.step('OCI volume backup', (attempt) => p.long.ociVolumeBackup({ displayName: `maintenance-${stamp(Date.now())}`, idempotencyKey: `${wf}/oci/${attempt}` }), { skippable: true });
      result.ociBackup = { skipped: oci.skipped, backupId: oci.value?.backupId };
    }
    return snapshot;
  }

  /** Edit: flag set, the person edits, and resumes (or rolls back). Nothing resumes by the clock. */
  private async edit(snapshot: BackupManifest): Promise<void> {
    const { p, wf } = this;
    p.phase('edit', 'Setting the maintenance flag.');
    await this.hold.flag(this.args.reason);
    if (p.context.sheetsConfigured) {
      await this.hold.banner(`Approvals sync is paused for maintenance (${this.args.reason}) since ${new Date().toISOString()}: decisions typed now are applied after it.`);
    }
    const how = await this.editTool();
    const editTimeout = this.args.editTimeout ?? p.context.defaults.editTimeout;
    this.stage = 'edit';
    p.details(
      `Schedules paused, snapshot \`${snapshot.file}\` verified, maintenance flag set.\n\n` +
        `**Edit now** with ${how}.\n\n` +
        `When done: \`atlas-ops maintenance resume ${shellQuote(wf)} --by <you> --note "<what you changed>"\`, ` +
        `or send signal \`resume\` with \`{"by": "<you>", "note": "…"}\` here. ` +
        `To give up: signal \`abort\` (\`{"rollback": true}\` also restores the snapshot).\n\n` +
        `A critical alert is raised after ${formatDuration(editTimeout)}; nothing resumes by itself.`,
    );
    await p.waitForPerson('edits to atlas.db, then resume', 'edits', () => this.edits !== undefined || this.rollbackReq !== undefined, {
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
    if (this.rollbackReq) throw new RollbackRequested(this.rollbackReq);
    this.stage = 'finishing';
    const edits = this.edits!;
    this.result.resumedBy = edits.by;
    this.result.note = edits.note;
    await p.record(`edits done, resume${edits.note ? `: ${edits.note}` : ''}`, edits.by);
  }

  /** How the person edits: sqlite3 by default, sqlite-web when asked for (and it starts). */
  private async editTool(): Promise<string> {
    const { p } = this;
    if (!this.args.sqliteWeb) return `sqlite3 ${p.context.atlasDb}`;
    const web = await p.step('start sqlite-web', () => p.acts.startSqliteWeb({ port: p.context.sqliteWebPort }), { skippable: true });
    if (!web.value) return `sqlite3 ${p.context.atlasDb}`;
    this.result.sqliteWeb = web.value;
    this.sqliteWebStarted = web.value.started;
    return web.value.started ? `sqlite-web at ${web.value.url} (${web.value.hint})` : web.value.hint;
  }

  /** Verify: integrity_check on the edited database; a failure waits for rollback or a forced resume. */
  private async verify(snapshot: BackupManifest): Promise<void> {
    const { p, wf, result } = this;
    p.phase('verify', 'Checking the edited database (PRAGMA integrity_check).');
    if (this.sqliteWebStarted) {
      await p.step('stop sqlite-web', () => p.acts.stopSqliteWeb(), { skippable: true });
      this.sqliteWebStarted = false;
    }
    const check = await p.step('integrity check', () => p.long.checkAtlasDb(), { rollback: true });
    result.integrity = { ok: check.ok, problems: check.problems };
    if (check.ok || this.edits!.force) return;
    this.stage = 'verify-failed';
    const problems = check.problems.slice(0, 5).join('; ');
    await p.acts.raiseAlert({ code: `maintenance-integrity:${wf}`, level: 'critical', message: `maintenance ${wf}: the edited atlas.db fails integrity_check (${problems}); schedules stay paused` });
    p.details(
      `**integrity_check failed** on the edited database:\n\n> ${problems}\n\n` +
        `Roll back to \`${snapshot.file}\` (the edited file is kept): signal \`rollback\`, or \`atlas-ops maintenance abort ${shellQuote(wf)} --rollback\`.\n` +
        `Or resume anyway: signal \`resume\` with \`{"force": true}\`, or \`atlas-ops maintenance resume ${shellQuote(wf)} --force\`.`,
    );
    await p.waitForPerson('rollback, or a forced resume, after a failed integrity check', 'rollback-or-force', () => this.rollbackReq !== undefined || this.forced !== undefined, {
      alertCode: `maintenance-verify:${wf}`,
    });
    await p.acts.resolveAlert({ code: `maintenance-integrity:${wf}`, resolution: this.rollbackReq ? 'rolled back' : 'resumed with force' });
    if (this.rollbackReq) throw new RollbackRequested(this.rollbackReq);
    result.forced = true;
    await p.record('resumed with force despite failed integrity_check', this.forced!.by);
    this.stage = 'finishing';
  }

  /** Resume: flag removed, exactly the schedules this procedure paused unpaused, the database probed. */
  private async resume(snapshot: BackupManifest): Promise<void> {
    const { p, result } = this;
    p.phase('resume', 'Removing the maintenance flag and unpausing the schedules this procedure paused.');
    result.unpausedSchedules = await this.hold.resume();
    const probe = (await p.step('probe database', () => p.acts.probeAtlasDb(), { skippable: true })).value;
    if (probe) result.probe = { journalMode: probe.journalMode, walSwitchedOn: probe.walSwitchedOn };
    p.finish('completed', `Done. Snapshot \`${snapshot.file}\`; schedules unpaused: ${result.unpausedSchedules.join(', ') || 'none'}.`);
    result.phaseMs = p.phaseDurations();
    await p.record('maintenance completed', result.resumedBy);
  }

  /** Every exit: no sqlite-web, the snapshot back when asked for, no flag, the paused schedules running again. */
  async undo(exit: Exit): Promise<void> {
    this.stage = 'finishing';
    if (this.sqliteWebStarted) {
      this.sqliteWebStarted = false;
      try {
        await this.p.undo.stopSqliteWeb();
      } catch (err) {
        // A listener atlas-ops cannot prove it started (UnprovenProcess): the undo goes on, and the
        // operator is told which process to stop.
        if (!(err instanceof ActivityFailure)) throw err;
        const message = `sqlite-web not stopped: ${(err.cause ?? err).message}`;
        await this.p.acts.raiseAlert({ code: `maintenance-sqlite-web:${this.wf}`, level: 'warning', message: `maintenance ${this.wf}: ${message}` });
        await this.p.record(message);
      }
    }
    try {
      if (exit.kind === 'rolled-back' || (exit.kind === 'aborted' && exit.actor.rollback)) await this.restoreSnapshot(exit.actor);
    } finally {
      // Also when the rollback gave up on a process holding atlas.db: nothing was replaced, and the
      // procedure fails with DbHeld, naming it.
      this.result.unpausedSchedules = await this.hold.release();
    }
  }

  private async restoreSnapshot(actor: Actor): Promise<void> {
    const snapshot = this.snapshotTaken;
    if (!snapshot) return;
    const keepSuffix = `failed-edit-${stamp(Date.now())}`;
    const restored = await this.hold.swap(`the rollback to ${snapshot.file}`, () => this.p.undoLong.restoreAtlasDb({ backup: snapshot.file, keepSuffix }), { undo: true, refusesItself: true });
    this.result.editedFileKeptAs = restored.keptAs;
    await this.p.record(`rolled back to ${snapshot.file}; edited database kept as ${restored.keptAs.join(', ')}`, actor.by);
  }

  async aborted(actor: Actor): Promise<void> {
    const { p, result } = this;
    result.outcome = 'aborted';
    result.abortedBy = actor.by;
    result.note = actor.note;
    result.phaseMs = p.phaseDurations();
    p.finish('aborted', `Aborted${actor.by ? ` by ${actor.by}` : ''}. Flag removed, schedules unpaused; snapshot kept${this.snapshotTaken ? ` as \`${this.snapshotTaken.file}\`` : ''}.`);
    await p.record(`maintenance aborted${actor.note ? `: ${actor.note}` : ''}`, actor.by);
  }

  async rolledBack(): Promise<void> {
    const { p, result } = this;
    result.outcome = 'rolled-back';
    const probe = await p.undo.probeAtlasDb();
    result.probe = { journalMode: probe.journalMode, walSwitchedOn: probe.walSwitchedOn };
    result.phaseMs = p.phaseDurations();
    p.finish('rolled-back', `Rolled back to \`${this.snapshotTaken?.file}\`; the edited database is kept as ${result.editedFileKeptAs?.join(', ')}.`);
  }

  async release(): Promise<void> {
    await this.hold.end();
  }
}
