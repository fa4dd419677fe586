// What the maintenance benchmarks share: the schedules Pause needs, and the wait for the edit phase.
import { ScheduleOverlapPolicy, type Client, type WorkflowHandle } from '@temporalio/client';
import type { AtlasConfig } from '../../src/config';
import { scheduleId } from '../../src/schedules';
import { statusQuery } from '../../workflows/lib/procedure';

/** The sync and backup schedules a maintenance pauses, as stand-ins that never fire. */
export async function createStandInSchedules(client: Client, config: AtlasConfig): Promise<void> {
  for (const name of ['export', 'import', 'backup']) {
    await client.schedule.create({
      scheduleId: scheduleId(config, name),
      spec: { intervals: [{ every: '1 day' }] },
      action: { type: 'startWorkflow', workflowType: 'none', taskQueue: 'none', args: [] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
    });
  }
}

/** Until the maintenance's status says it waits for the edit (polled every 20 ms). */
export async function untilEditWait(handle: WorkflowHandle): Promise<void> {
  for (;;) {
    const s = await handle.query(statusQuery).catch(() => undefined);
    if (s?.phase === 'edit' && s.state === 'waiting') return;
    await new Promise((r) => setTimeout(r, 20));
  }
}
