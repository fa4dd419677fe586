// Fault injection for the fault suite (test/faults): ATLAS_FAULT_KILL="<activity>:<before|after|during>[:<ms>]"
// makes this worker kill itself with SIGKILL just before an activity runs, right after it returns
// (its result not yet reported), or <ms> into it. Never set in production; the worker logs it loudly.
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

export interface KillPoint {
  activity: string;
  when: 'before' | 'after' | 'during';
  delayMs: number;
}

export function parseKillPoint(spec: string | undefined): KillPoint | undefined {
  if (!spec) return undefined;
  const [activity, when, delay] = spec.split(':');
  if (!activity || !['before', 'after', 'during'].includes(when ?? '')) {
    throw new Error(`ATLAS_FAULT_KILL: "${spec}" is not <activity>:<before|after|during>[:<ms>]`);
  }
  return { activity, when: when as KillPoint['when'], delayMs: Number(delay ?? 200) };
}

const die = () => process.kill(process.pid, 'SIGKILL');

export function killInterceptor(point: KillPoint): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        if (ctx.info.activityType !== point.activity) return next(input);
        if (point.when === 'before') die();
        if (point.when === 'during') setTimeout(die, point.delayMs);
        const result = await next(input);
        if (point.when === 'after') die();
        return result;
      },
    },
  });
}
