// The activity factory: the worker builds it once with real dependencies; workflows proxy its type.
import { ActivityContext, type ActivityDeps } from './deps';
import { createAlertActivities } from './alerts';
import { createBackupActivities } from './backup';
import { createDbActivities } from './db';
import { createDiskActivities } from './disk';
import { createHostActivities, createContextActivities } from './host';
import { createIncidentActivities } from './incident';
import { createMonitoringActivities } from './monitoring';
import { createSecretActivities } from './secrets';
import { createGoogleKeyActivities } from './google-keys';
import { createOciKeyActivities } from './oci-keys';
import { createOciActivities } from './oci';
import { createVolumeSwapActivities } from './volume-swap';
import { createRecoveryActivities } from './recovery';
import { createScheduleActivities } from './schedules';
import { createSheetsActivities } from './sheets';

/** Activities that run on the per-host queue (`<taskQueue>@<host>`): they touch the host's files. */
export function createHostQueueActivities(ctx: ActivityContext) {
  return {
    ...createAlertActivities(ctx),
    ...createBackupActivities(ctx),
    ...createDbActivities(ctx),
    ...createDiskActivities(ctx),
    ...createHostActivities(ctx),
    ...createIncidentActivities(ctx),
    ...createMonitoringActivities(ctx),
    ...createSecretActivities(ctx),
    ...createGoogleKeyActivities(ctx),
    ...createOciKeyActivities(ctx),
    ...createOciActivities(ctx),
    ...createVolumeSwapActivities(ctx),
    ...createRecoveryActivities(ctx),
    ...createScheduleActivities(ctx),
    ...createSheetsActivities(ctx),
  };
}

/** Activities that run on the workflow queue: nothing host-specific but where the host is. */
export function createWorkflowQueueActivities(ctx: ActivityContext) {
  return createContextActivities(ctx);
}

export function createActivities(deps: ActivityDeps) {
  const ctx = new ActivityContext(deps);
  return { context: ctx, host: createHostQueueActivities(ctx), workflowQueue: createWorkflowQueueActivities(ctx) };
}

export type HostActivities = ReturnType<typeof createHostQueueActivities>;
export type WorkflowQueueActivities = ReturnType<typeof createWorkflowQueueActivities>;
export { ActivityContext, type ActivityDeps };
