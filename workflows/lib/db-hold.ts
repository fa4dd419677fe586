// What procedures that change atlas.db (corruption recovery, restore) hold while they work: the
// atlas.db lock, the schedules they paused, the maintenance flag. `release` gives back exactly what
// was taken, with undo activities that retry until they succeed (they restore the safe state).
import type { HostActivities } from '../../activities';
import type { Actor, Procedure } from './procedure';

export class DbHold {
  pausedSchedules: string[] = [];
  alreadyPaused: string[] = [];
  unpausedSchedules: string[] = [];
  private lockHeld = false;
  private flagSet = false;
  readonly undo: HostActivities;

  constructor(private readonly p: Procedure, private readonly procedure: string) {
    this.undo = p.undo;
  }

  async lock(): Promise<void> {
    await this.p.step('acquire atlas.db lock', () => this.p.acts.acquireDbLock({ holder: this.p.workflowId, procedure: this.procedure }));
    this.lockHeld = true;
  }

  /** Pauses `names` (leaving alone those someone else paused) and sets the maintenance flag. */
  async pauseAndFlag(names: readonly string[], reason: string): Promise<void> {
    const wf = this.p.workflowId;
    const pause = (await this.p.step('pause schedules', () => this.p.acts.pauseSchedules({ names: [...names], workflowId: wf, procedure: this.procedure }))).value!;
    this.pausedSchedules = pause.paused;
    this.alreadyPaused = pause.alreadyPaused;
    await this.p.step('set maintenance flag', () => this.p.acts.setMaintenanceFlag({ workflowId: wf, reason }));
    this.flagSet = true;
  }

  /** Clears the flag and unpauses what this procedure paused. */
  async release(): Promise<string[]> {
    if (this.flagSet) await this.undo.clearMaintenanceFlag();
    this.flagSet = false;
    if (this.pausedSchedules.length) {
      this.unpausedSchedules = await this.undo.unpauseSchedules({ names: this.pausedSchedules, workflowId: this.p.workflowId, procedure: this.procedure });
    }
    return this.unpausedSchedules;
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
