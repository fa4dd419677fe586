// Restoring atlas.db from a chosen local backup (`atlas-ops db restore <backup>`): like
// maintenance it holds the atlas.db lock, pauses the sync and backup schedules and sets the
// maintenance flag; the restore itself verifies, keeps what it replaces, and verifies again. It
// replaces atlas.db only once the app's units are stopped and no other process holds it (DbHold.swap).
import { SYNC_AND_BACKUP } from '../src/workflow-safe/schedule-names';
import { DECISION_TIMEOUT, DRAIN_TIMEOUT, HOME, HOST_QUEUE, inputTable, type InputOf } from './lib/input';
import type { Actor } from './lib/procedure';
import { stamp } from '../src/workflow-safe/stamp';
import { DbHold } from './lib/db-hold';
import { runProcedure, type ProcedureBody } from './lib/template';
import { failure } from '../src/workflow-safe/failures';

export const RESTORE_INPUT = inputTable([
  { name: 'backup', type: 'plainFileName', doc: 'A backup file name in backups/, e.g. atlas_20260101-020000.db (or `replica`).' },
  { name: 'replica', type: 'boolean', doc: 'Restore from the continuous replica instead of a backup (point-in-time, docs/safety.md#continuous-replica).' },
  { name: 'at', type: 'isoTime', doc: 'With `replica`: the point to restore (ISO date-time, within the replica\'s restorable range); default the newest.' },
  { name: 'target', type: 'restoreTarget', doc: 'A plain file name in data/ to restore into instead of atlas.db (a restore test); never atlas.db, ops.db or their -wal/-shm.' },
  { name: 'requestedBy', type: 'string', doc: 'Who asked for it (recorded in ops.db).' },
  { name: 'reason', type: 'text', default: 'restore', doc: 'Why: recorded in ops.db.' },
  DRAIN_TIMEOUT,
  DECISION_TIMEOUT,
  HOST_QUEUE,
  HOME,
]);

export type RestoreInput = InputOf<typeof RESTORE_INPUT>;

export interface RestoreWorkflowResult {
  outcome: 'completed' | 'aborted';
  workflowId: string;
  backup: string;
  target: string;
  keptAs: string[];
  alreadyDone?: boolean;
  pausedSchedules: string[];
  unpausedSchedules: string[];
  probe?: { journalMode: string; walSwitchedOn: boolean; rowCounts: Record<string, number> };
  phaseMs: Record<string, number>;
}

export function restore(input?: RestoreInput): Promise<RestoreWorkflowResult> {
  return runProcedure({ name: 'restore', input: RESTORE_INPUT, failure: failure.RestoreFailed }, input, (p, args): ProcedureBody<RestoreWorkflowResult> => {
    const { target, requestedBy, reason, replica, at } = args;
    // Exactly one source: a backup file, or the replica (optionally at a point).
    if (!args.backup === !replica) throw failure.InvalidInput(replica ? 'backup: give a backup or replica, not both' : 'backup: is required (or replica: true)');
    if (at !== undefined && !replica) throw failure.InvalidInput('at: only with replica: true');
    const backup = args.backup ?? (at ? `replica at ${at}` : 'replica (newest point)');
    const result: RestoreWorkflowResult = { outcome: 'completed', workflowId: p.workflowId, backup, target: target ?? 'atlas.db', keptAs: [], pausedSchedules: [], unpausedSchedules: [], phaseMs: {} };
    const hold = new DbHold(p, 'restore');
    return {
      result,
      async run() {
        p.phase('lock', 'Checking that no other procedure is changing atlas.db.');
        await hold.lock();
        await p.record(`restore of ${backup} into ${result.target} started: ${reason}`, requestedBy);

        p.phase('pause', `Pausing ${SYNC_AND_BACKUP.join(', ')} and setting the maintenance flag.`);
        await hold.pauseAndFlag(SYNC_AND_BACKUP, `restore ${backup}`);
        result.pausedSchedules = hold.pausedSchedules;
        await p.step('wait for running syncs and backups', () => hold.drain(args.drainTimeout ?? p.context.defaults.drainTimeout));

        p.phase('restore', `Restoring ${backup}: staging copy, integrity_check, keep the replaced file, rename, fsync, verify.`);
        const keepSuffix = `replaced-${stamp(Date.now())}`;
        const restoreStep = () =>
          p.step(
            'restore',
            () => (replica ? p.long.restoreAtlasDbFromReplica({ at, keepSuffix, target }) : p.long.restoreAtlasDb({ backup, keepSuffix, target })),
            { fatal: [failure.BackupInvalid.type, failure.BackupMissing.type, failure.InvalidInput.type, failure.DbHeld.type] },
          );
        // A restore test's own file has no app writing to it; atlas.db is replaced only with no other holder.
        const restored = target ? await restoreStep() : await hold.swap(`the restore of ${backup}`, restoreStep, { refusesItself: true });
        result.keptAs = restored.keptAs;
        result.alreadyDone = restored.alreadyDone;
        await p.record(`restored ${backup}; replaced files kept as ${restored.keptAs.join(', ') || 'nothing (there was none)'}`, requestedBy);

        p.phase('resume', 'Clearing the maintenance flag and unpausing the schedules.');
        result.unpausedSchedules = await hold.release();
        if (!target) {
          const probe = (await p.step('probe database', () => p.acts.probeAtlasDb(), { skippable: true })).value;
          if (probe) result.probe = { journalMode: probe.journalMode, walSwitchedOn: probe.walSwitchedOn, rowCounts: probe.rowCounts };
        }
        result.phaseMs = p.phaseDurations();
        p.finish('completed', `Restored \`${backup}\` into ${result.target}; replaced files kept as ${restored.keptAs.join(', ') || 'nothing'}.`);
      },
      async undo(exit) {
        // An abort says what it gave back itself (aborted below); a failure just gives it back.
        if (exit.kind === 'failed') result.unpausedSchedules = await hold.release();
      },
      async aborted(actor: Actor) {
        result.outcome = 'aborted';
        result.unpausedSchedules = await hold.abort(actor, result.keptAs.length ? `Replaced files kept as ${result.keptAs.join(', ')}.` : 'atlas.db was not replaced.');
        result.phaseMs = p.phaseDurations();
      },
      release: () => hold.end(),
    };
  });
}
