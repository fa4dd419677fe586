// Alert activities: raise (deduplicated by code) and resolve.
import type { AlertInput, AlertOutcome } from '../src/alerts';
import type { ActivityContext } from './deps';

export function createAlertActivities(ctx: ActivityContext) {
  return {
    async raiseAlert(input: AlertInput): Promise<AlertOutcome> {
      return ctx.alerts().raise(input);
    },
    async resolveAlert(input: { code: string; resolution: string }): Promise<boolean> {
      return ctx.alerts().resolve(input.code, input.resolution);
    },
  };
}
