// What procedures that change atlas.db (maintenance, corruption recovery, restore) hold while they
// work: the atlas.db lock, the schedules they paused, the maintenance flag (and, for maintenance,
// the banner in the approvals sheet), the Atlas app's units they stopped. `release` gives back
// exactly what was taken, with undo activities that retry until they succeed (they restore the
// safe state). Every swap of atlas.db goes through `swap` (docs/safety.md#no-swap-under-a-live-writer).
import { ActivityFailure, condition } from '@temporalio/workflow';
import type { HostActivities } from '../../activities';
import { describeHolders, type FileHolder } from '../../src/workflow-safe/db-holders';
import { formatDuration } from '../../src/workflow-safe/duration';
import { failure } from '../../src/workflow-safe/failures';
import type { Actor, Procedure } from './procedure';

/** The DbHeld failure, whether an activity call or a step threw it. */
function isDbHeld(err: unknown): boolean {
  return failure.DbHeld.is(err) || (err instanceof ActivityFailure && failure.DbHeld.is(err.cause));
}

export class DbHold {
  pausedSchedules: string[] = [];
  alreadyPaused: string[] = [];
  unpausedSchedules: string[] = [];
  private lockHeld = false;
  private flagSet = false;
  private bannerSet = false;
  /** The app units this procedure stopped (started again on every exit). */
  appUnitsStopped: string[] = [];
  private unitsStopRequested = false;
  /** The processes that held atlas.db open the last time it was looked at (empty once they are gone). */
  holders: FileHolder[] = [];
  readonly undo: HostActivities;

  constructor(private readonly p: Procedure, private readonly procedure: string) {
    this.undo = p.undo;
  }

  async lock(): Promise<void> {
    await this.p.step('acquire atlas.db lock', () => this.p.acts.acquireDbLock({ holder: this.p.workflowId, procedure: this.procedure }));
    this.lockHeld = true;
  }

  /** Pauses `names`, leaving alone those someone else paused (they stay paused after release). */
  async pause(names: readonly string[]): Promise<void> {
    const pause = await this.p.step('pause schedules', () => this.p.acts.pauseSchedules({ names: [...names], workflowId: this.p.workflowId, procedure: this.procedure }));
    this.pausedSchedules = pause.paused;
    this.alreadyPaused = pause.alreadyPaused;
  }

  /** Waits for the runs of every paused schedule (ours and those already paused) to finish. */
  async drain(timeoutMs: number): Promise<void> {
    await this.p.long.waitForSchedulesIdle({ names: [...this.pausedSchedules, ...this.alreadyPaused], timeoutMs });
  }

  async flag(reason: string): Promise<void> {
    await this.p.step('set maintenance flag', () => this.p.acts.setMaintenanceFlag({ workflowId: this.p.workflowId, reason }));
    this.flagSet = true;
  }

  /** Pauses `names` and sets the maintenance flag. */
  async pauseAndFlag(names: readonly string[], reason: string): Promise<void> {
    await this.pause(names);
    await this.flag(reason);
  }

  /** Best effort (the activity never throws): the people in the sheet learn why nothing syncs. */
  async banner(text: string): Promise<void> {
    await this.p.acts.sheetsSetBanner({ banner: text });
    this.bannerSet = true;
  }

  /** The normal end, as steps the operator can retry: flag cleared, banner removed, schedules unpaused. */
  async resume(): Promise<string[]> {
    await this.p.step('clear maintenance flag', () => this.p.acts.clearMaintenanceFlag());
    this.flagSet = false;
    await this.clearBanner();
    this.unpausedSchedules = await this.p.step('unpause schedules', () => this.p.acts.unpauseSchedules({ names: this.pausedSchedules, workflowId: this.p.workflowId, procedure: this.procedure }));
    return this.unpausedSchedules;
  }

  /** Clears the flag and the banner and unpauses what this procedure paused. */
  async release(): Promise<string[]> {
    if (this.flagSet) await this.undo.clearMaintenanceFlag();
    this.flagSet = false;
    await this.clearBanner();
    if (this.pausedSchedules.length) {
      this.unpausedSchedules = await this.undo.unpauseSchedules({ names: this.pausedSchedules, workflowId: this.p.workflowId, procedure: this.procedure });
    }
    return this.unpausedSchedules;
  }

  private async clearBanner(): Promise<void> {
    if (this.bannerSet) await this.undo.sheetsSetBanner({ banner: '' });
    this.bannerSet = false;
  }

  /** The abort path: give everything back and say so in the Web UI. */
  async abort(actor: Actor, kept: string): Promise<string[]> {
    const unpaused = await this.release();
    this.p.finish('aborted', `Aborted${actor.by ? ` by ${actor.by}` : ''}; schedules unpaused (${unpaused.join(', ') || 'none'}), maintenance flag cleared. ${kept}`);
    await this.p.record(`${this.procedure} aborted${actor.note ? `: ${actor.note}` : ''}`, actor.by);
    return unpaused;
  }

  /**
   * Replaces atlas.db with `replace` only while no other process holds it open: stops the app's
   * units, then looks in /proc every `swap.pollInterval`, naming the holders in the status and the
   * details, reminding, paging after `swap.pageAfter`; goes on by itself once they are gone. The
   * activity that renames checks once more and throws DbHeld when a holder came back meanwhile,
   * which resumes the wait (`refusesItself`: such a `replace` is tried first). After `swap.timeout`
   * it throws DbHeld: nothing was replaced, and the procedure's exit gives back what it took. `undo` runs the checks with the undo activities (an
   * exit path, such as maintenance's rollback, cannot itself wait for an operator's decision).
   */
  async swap<T>(what: string, replace: () => Promise<T>, options: { undo?: boolean; refusesItself?: boolean } = {}): Promise<T> {
    const { p } = this;
    const acts = options.undo ? this.undo : p.acts;
    const { pollInterval, pageAfter, timeout } = p.context.swap;
    if (!this.unitsStopRequested) {
      this.unitsStopRequested = true;
      const units = options.undo ? await acts.stopAppUnits({ workflowId: p.workflowId }) : await p.step('stop app units', () => acts.stopAppUnits({ workflowId: p.workflowId }));
      this.appUnitsStopped = units.stopped;
      await p.record(units.stopped.length ? `stopped app units ${units.stopped.join(', ')} before ${what}` : `no app unit stopped before ${what}${units.note ? ` (${units.note})` : ''}`);
    }
    const code = `db-held:${p.workflowId}`;
    const started = Date.now();
    let alerted = false;
    let paged = false;
    let lastReminder = started;
    try {
      // A replace that refuses by itself (it stages, then checks before its rename) runs first, so
      // the long copy and check are done while the holders are awaited and the staging file is kept.
      let replaceFirst = options.refusesItself === true;
      // On an exit path (undo) the abort has already been asked for: it must not end the wait.
      const abortable = !options.undo;
      for (;;) {
        if (abortable) p.throwIfAborted();
        if (!replaceFirst) this.holders = await acts.atlasDbHolders();
        if (replaceFirst || !this.holders.length) {
          replaceFirst = false;
          try {
            return await replace();
          } catch (err) {
            if (!isDbHeld(err)) throw err;
            // A process opened it between the look and the rename: look again.
            this.holders = await acts.atlasDbHolders();
            if (!this.holders.length) continue;
          }
        }
        const named = describeHolders(this.holders);
        const waited = Date.now() - started;
        if (waited >= timeout) {
          throw failure.DbHeld(
            `${what} did not happen: after ${formatDuration(waited)} atlas.db is still held open by ${named}. Nothing was replaced` +
              ' (a staging file, if one was made, is kept). Stop that process (or add its unit to app.units), then start the procedure again.',
          );
        }
        const wanted = `atlas.db closed by ${named} (it is not replaced while another process holds it open)`;
        p.setWaiting(wanted, 'db-holders');
        p.details(
          `Before ${what}: atlas.db is held open by **${named}**. It is not replaced under a live writer: ` +
            `stop that process; the procedure looks again every ${formatDuration(pollInterval)} and goes on by itself. ` +
            `It pages after ${formatDuration(pageAfter)} and gives up after ${formatDuration(timeout)} (nothing replaced, everything given back). ${abortable ? 'To give up now: signal `abort`.' : ''}`,
        );
        if (!alerted) {
          alerted = true;
          await acts.raiseAlert({ code, level: 'warning', message: `${p.status.procedure} ${p.workflowId} waits: ${wanted}` });
        } else if (!paged && waited >= pageAfter) {
          paged = true;
          await acts.raiseAlert({ code, level: 'critical', message: `page: ${p.status.procedure} ${p.workflowId} has waited ${formatDuration(waited)} for ${wanted}`, remind: true });
        } else if (Date.now() - lastReminder >= p.reminderInterval) {
          lastReminder = Date.now();
          await acts.raiseAlert({ code, level: paged ? 'critical' : 'warning', message: `reminder: ${p.status.procedure} ${p.workflowId} has waited ${formatDuration(waited)}: ${wanted}`, remind: true });
        }
        await condition(() => abortable && p.abortRequest !== undefined, Math.min(pollInterval, Math.max(1, started + timeout - Date.now())), { summary: `${p.status.procedure}: waiting for the holders of atlas.db` });
      }
    } finally {
      if (alerted) {
        p.setWaiting(undefined);
        const resolution = this.holders.length ? `gave up: still held by ${describeHolders(this.holders)}` : 'atlas.db no longer held';
        await this.undo.resolveAlert({ code, resolution });
      }
    }
  }

  /** Always, last: the app units this procedure stopped started again, the atlas.db lock released. */
  async end(): Promise<void> {
    if (this.unitsStopRequested) await this.undo.startAppUnits({ workflowId: this.p.workflowId });
    this.unitsStopRequested = false;
    if (this.lockHeld) await this.undo.releaseDbLock({ holder: this.p.workflowId });
    this.lockHeld = false;
  }
}
