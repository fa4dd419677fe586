// Fault injection for the fault suite (test/faults):
// ATLAS_FAULT_KILL="<activity>[#<n>]:<before|after|during>[:<ms>]" makes this worker kill itself
// with SIGKILL just before an activity runs, right after it returns (its result not yet reported),
// or <ms> into it. `#<n>` picks the n-th execution of that activity in this worker (default the
// first; a retry counts as one), for steps a procedure runs more than once (the integrity check
// after a restore, a poll). Never set in production; the worker logs it loudly.
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

export interface KillPoint {
  activity: string;
  /** Which execution of the activity in this worker, from 1. */
  occurrence: number;
  when: 'before' | 'after' | 'during';
  delayMs: number;
}

export function parseKillPoint(spec: string | undefined): KillPoint | undefined {
  if (!spec) return undefined;
  const [target, when, delay] = spec.split(':');
  const m = /^([A-Za-z0-9_]+)(?:#([1-9][0-9]*))?$/.exec(target ?? '');
  if (!m || !['before', 'after', 'during'].includes(when ?? '')) {
    throw new Error(`ATLAS_FAULT_KILL: "${spec}" is not <activity>[#<n>]:<before|after|during>[:<ms>]`);
  }
  return { activity: m[1]!, occurrence: Number(m[2] ?? 1), when: when as KillPoint['when'], delayMs: Number(delay ?? 200) };
}

const die = () => process.kill(process.pid, 'SIGKILL');

export function killInterceptor(point: KillPoint): ActivityInterceptorsFactory {
  let seen = 0;
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        if (ctx.info.activityType !== point.activity || ++seen !== point.occurrence) return next(input);
        if (point.when === 'before') die();
        if (point.when === 'during') setTimeout(die, point.delayMs);
        const result = await next(input);
        if (point.when === 'after') die();
        return result;
      },
    },
  });
}
