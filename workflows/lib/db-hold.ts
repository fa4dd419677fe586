// What procedures that change atlas.db (maintenance, corruption recovery, restore) hold while they
// work: the atlas.db lock, the schedules they paused, the maintenance flag (and, for maintenance,
// the banner in the approvals sheet). `release` gives back exactly what was taken, with undo
// activities that retry until they succeed (they restore the safe state).
import type { HostActivities } from '../../activities';
import type { Actor, Procedure } from './procedure';

export class DbHold {
  pausedSchedules: string[] = [];
  alreadyPaused: string[] = [];
  unpausedSchedules: string[] = [];
  private lockHeld = false;
  private flagSet = false;
  private bannerSet = false;
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

  async unlock(): Promise<void> {
    if (this.lockHeld) await this.undo.releaseDbLock({ holder: this.p.workflowId });
    this.lockHeld = false;
  }
}
