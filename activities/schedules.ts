// Pausing and unpausing the schedules around procedures that change atlas.db.
// The pause note names the procedure; that note is how a retried pause recognises its own work,
// so a worker killed mid-activity never leaves a schedule paused that nobody will unpause.
import { Context, sleep } from '@temporalio/activity';
import { ScheduleNotFoundError } from '@temporalio/client';
import { scheduleDef, scheduleId } from '../src/schedules';
import type { ActivityContext } from './deps';
import { failure } from '../src/workflow-safe/failures';

export const pauseNote = (workflowId: string, procedure: string) => `paused by ${procedure} ${workflowId}`;

export interface PauseResult {
  /** Schedule names this procedure paused (and so must unpause). */
  paused: string[];
  /** Already paused by someone else: left alone, and left paused afterwards. */
  alreadyPaused: string[];
  missing: string[];
}

export function createScheduleActivities(ctx: ActivityContext) {
  const handle = (name: string) => ctx.client.schedule.getHandle(scheduleId(ctx.config, scheduleDef(name).name));

  return {
    async pauseSchedules(input: { names: string[]; workflowId: string; procedure: string }): Promise<PauseResult> {
      const note = pauseNote(input.workflowId, input.procedure);
      const result: PauseResult = { paused: [], alreadyPaused: [], missing: [] };
      for (const name of input.names) {
        try {
          const h = handle(name);
          const d = await h.describe();
          if (d.state.paused) {
            (d.state.note === note ? result.paused : result.alreadyPaused).push(name);
            continue;
          }
          await h.pause(note);
          result.paused.push(name);
        } catch (err) {
          if (err instanceof ScheduleNotFoundError) result.missing.push(name);
          else throw err;
        }
      }
      return result;
    },

    async unpauseSchedules(input: { names: string[]; workflowId: string; procedure: string }): Promise<string[]> {
      const unpaused: string[] = [];
      for (const name of input.names) {
        try {
          const h = handle(name);
          const d = await h.describe();
          if (d.state.paused) await h.unpause(`unpaused by ${input.procedure} ${input.workflowId}`);
          unpaused.push(name);
        } catch (err) {
          if (!(err instanceof ScheduleNotFoundError)) throw err;
        }
      }
      return unpaused;
    },

    /** Waits until no run started by these schedules is still running; heartbeats what it waits for. */
    async waitForSchedulesIdle(input: { names: string[]; timeoutMs: number; pollMs?: number }): Promise<{ waitedMs: number }> {
      const started = Date.now();
      for (;;) {
        const running: string[] = [];
        for (const name of input.names) {
          try {
            const d = await handle(name).describe();
            for (const run of d.info.runningActions) running.push(`${name}: ${run.workflow.workflowId}`);
          } catch (err) {
            if (!(err instanceof ScheduleNotFoundError)) throw err;
          }
        }
        if (!running.length) return { waitedMs: Date.now() - started };
        if (Date.now() - started >= input.timeoutMs) {
          throw failure.DrainTimeout(
            `runs still running after ${Math.round(input.timeoutMs / 1000)} s: ${running.join(', ')}. ` +
              'Wait for them to finish (or terminate them in the Web UI) and start the procedure again.',
          );
        }
        Context.current().heartbeat({ waitingFor: running });
        await sleep(input.pollMs ?? 1000);
      }
    },
  };
}
