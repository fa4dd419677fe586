// Restoring atlas.db from a chosen local backup (`atlas-ops db restore <backup>`): like
// maintenance it holds the atlas.db lock, pauses the sync and backup schedules and sets the
// maintenance flag; the restore itself verifies, keeps what it replaces, and verifies again.
import { ApplicationFailure } from '@temporalio/workflow';
import { SYNC_AND_BACKUP } from '../src/workflow-safe/schedule-names';
import { inputObject, invalid, optionalDuration, optionalString, rejectUnknown, requiredString } from './lib/input';
import { AbortRequested, Procedure } from './lib/procedure';
import { stamp } from '../src/workflow-safe/stamp';
import { isPlainFileName } from '../src/workflow-safe/file-names';
import { DbHold } from './lib/db-hold';
import { failure } from '../src/workflow-safe/failures';

export interface RestoreInput {
  /** A backup file name in backups/, e.g. atlas_20260101-020000.db. */
  backup: string;
  /** A plain file name in data/ to restore into instead of atlas.db (a restore test). */
  target?: string;
  requestedBy?: string;
  reason?: string;
  drainTimeout?: string | number;
  decisionTimeout?: string | number;
  hostQueue?: string;
}

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

const FIELDS = ['backup', 'target', 'requestedBy', 'reason', 'drainTimeout', 'decisionTimeout', 'hostQueue'] as const;

/** Refused before anything happens: the same rule as insideDir, checked in the workflow. */
function plainName(input: Record<string, unknown>, field: string, required: boolean): string | undefined {
  const v = required ? requiredString(input, field) : optionalString(input, field);
  if (v !== undefined && !isPlainFileName(v)) throw invalid(field, `"${v}" must be a plain file name (no "/", no "..")`);
  return v;
}

export async function restore(rawInput?: RestoreInput): Promise<RestoreWorkflowResult> {
  const input = inputObject(rawInput, 'restore');
  rejectUnknown(input, FIELDS);
  const backup = plainName(input, 'backup', true)!;
  const target = plainName(input, 'target', false);
  const requestedBy = optionalString(input, 'requestedBy');
  const reason = optionalString(input, 'reason') ?? 'restore';
  const drainTimeoutIn = optionalDuration(input, 'drainTimeout');
  const decisionTimeout = optionalDuration(input, 'decisionTimeout');
  const hostQueue = optionalString(input, 'hostQueue');

  const p = await Procedure.start('restore', { decisionTimeout, hostQueue });
  const wf = p.workflowId;
  const result: RestoreWorkflowResult = { outcome: 'completed', workflowId: wf, backup, target: target ?? 'atlas.db', keptAs: [], pausedSchedules: [], unpausedSchedules: [], phaseMs: {} };
  p.status.facts = result as unknown as Record<string, unknown>;
  const hold = new DbHold(p, 'restore');
  const release = async () => {
    result.unpausedSchedules = await hold.release();
  };

  try {
    p.phase('lock', 'Checking that no other procedure is changing atlas.db.');
    await hold.lock();
    await p.record(`restore of ${backup} into ${result.target} started: ${reason}`, requestedBy);

    p.phase('pause', `Pausing ${SYNC_AND_BACKUP.join(', ')} and setting the maintenance flag.`);
    await hold.pauseAndFlag(SYNC_AND_BACKUP, `restore ${backup}`);
    result.pausedSchedules = hold.pausedSchedules;
    await p.step('wait for running syncs and backups', () => p.long.waitForSchedulesIdle({ names: [...hold.pausedSchedules, ...hold.alreadyPaused], timeoutMs: drainTimeoutIn ?? p.context.defaults.drainTimeout }));

    p.phase('restore', `Restoring ${backup}: staging copy, integrity_check, keep the replaced file, rename, fsync, verify.`);
    const restored = (await p.step('restore', () => p.long.restoreAtlasDb({ backup, keepSuffix: `replaced-${stamp(Date.now())}`, target }), { fatal: [failure.BackupInvalid.type, failure.BackupMissing.type] })).value!;
    result.keptAs = restored.keptAs;
    result.alreadyDone = restored.alreadyDone;
    await p.record(`restored ${backup}; replaced files kept as ${restored.keptAs.join(', ') || 'nothing (there was none)'}`, requestedBy);

    p.phase('resume', 'Clearing the maintenance flag and unpausing the schedules.');
    await release();
    if (!target) {
      const probe = (await p.step('probe database', () => p.acts.probeAtlasDb(), { skippable: true })).value;
      if (probe) result.probe = { journalMode: probe.journalMode, walSwitchedOn: probe.walSwitchedOn, rowCounts: probe.rowCounts };
    }
    result.phaseMs = p.phaseDurations();
    p.finish('completed', `Restored \`${backup}\` into ${result.target}; replaced files kept as ${restored.keptAs.join(', ') || 'nothing'}.`);
    return result;
  } catch (err) {
    if (err instanceof AbortRequested) {
      result.outcome = 'aborted';
      result.unpausedSchedules = await hold.abort(err.actor, result.keptAs.length ? `Replaced files kept as ${result.keptAs.join(', ')}.` : 'atlas.db was not replaced.');
      result.phaseMs = p.phaseDurations();
      return result;
    }
    await release();
    p.finish('failed', `Failed: ${(err as Error).message}`);
    if (err instanceof ApplicationFailure) throw err;
    throw failure.RestoreFailed(`restore ${wf} failed: ${(err as Error).message}`);
  } finally {
    await hold.unlock();
  }
}
