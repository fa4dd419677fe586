// Fault suite, a host queue no worker serves (docs/operator-contract.md#bounds): a procedure sent
// to `<taskQueue>@<host>` where nothing polls does not hang on its first host step. The step fails
// into the operator's decision after maintenance.hostQueueTimeout, naming the queue; abort ends the
// procedure at once, whether the step still waits for a worker or already waits for a decision; and
// nothing changed on the host (the steps never ran there).
import { describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import { abortSignal, decisionUpdate, statusQuery, type ProcedureStatus } from '../../workflows/lib/procedure';
import type { MaintenanceResult } from '../../workflows/maintenance';
import { TEXT_MAX } from '../../src/workflow-safe/limits';
import { useAtlas } from '../helpers/atlas';
import { eventually, schedulePaused, uid } from '../helpers/env';
import { expectNoTrace } from './checks';
import { lostTaskSlackMs } from '../helpers/history';
import { recordFault } from './report';

/** Long enough that an abort sent once the step waits comes well before it, short enough for a test. */
const HOST_QUEUE_TIMEOUT_MS = 15_000;
const SCHEDULES = ['export', 'import', 'backup'];

const t = useAtlas({ schedules: SCHEDULES, worker: true, overrides: { 'maintenance.hostQueueTimeout': `${HOST_QUEUE_TIMEOUT_MS}ms` } });

/** A maintenance whose host steps go to a queue no worker serves. */
async function startUnserved(type = 'maintenance'): Promise<{ handle: WorkflowHandle; queue: string; startedAt: number }> {
  const queue = `${t.config.taskQueue}@nohost-${uid()}`;
  const startedAt = Date.now();
  const handle = await t.client.workflow.start(type, {
    taskQueue: t.config.taskQueue,
    workflowId: `unserved-${type}-${uid()}`,
    args: [{ reason: 'unserved host queue', hostQueue: queue, ...(type === 'maintenance' ? { decisionTimeout: '1h' } : {}) }],
  });
  return { handle, queue, startedAt };
}

const status = (handle: WorkflowHandle) => handle.query(statusQuery);

interface Aborted {
  result: { outcome: string };
  ms: number;
  status: ProcedureStatus;
  /** Activities the history shows timed out: an abort that waited behind the step would show its timeout. */
  activityTimeouts: number;
  /** What a loaded machine adds to `ms`: each workflow task that timed out before the worker answered. */
  slackMs: number;
}

async function abortAndTime(handle: WorkflowHandle, note: string): Promise<Aborted> {
  const sent = Date.now();
  await handle.signal(abortSignal, { by: 'tester', note });
  const result = (await handle.result()) as { outcome: MaintenanceResult['outcome'] };
  const ms = Date.now() - sent;
  const events = (await handle.fetchHistory()).events ?? [];
  const activityTimeouts = events.filter((e) => e.activityTaskTimedOutEventAttributes).length;
  return { result, ms, status: await status(handle), activityTimeouts, slackMs: lostTaskSlackMs(events) };
}

describe('a host queue no worker serves', { timeout: 120_000 }, () => {
  it('abort while the first host step waits for a worker ends the procedure at once, saying why and what to do', async () => {
    const { handle, queue } = await startUnserved();
    await eventually(async () => (await status(handle)).step === 'acquire atlas.db lock', 60_000, 'the lock step pending');
    const { result, ms, status: end, activityTimeouts, slackMs } = await abortAndTime(handle, 'nobody serves it');
    expect(result.outcome).toBe('aborted');
    // Before the step's own timeout (an abort that waited behind the activity would end with it):
    // the history has no timed-out step, and the clock agrees but for workflow tasks lost to load.
    expect(activityTimeouts, 'activities timed out').toBe(0);
    expect(ms, 'ms from abort to the end').toBeLessThan(HOST_QUEUE_TIMEOUT_MS - 5_000 + slackMs);
    expect(end.state).toBe('aborted');
    expect(end.events.map((e) => e.message).join('\n')).toContain(`in this status only: no worker serves ${queue}`);
    recordFault({ fault: 'abort while a host step waits on an unserved queue', survived: true, dataLost: 0 });
  });

  it('abort while a record (outside any step) waits for a worker ends the procedure at once too', async () => {
    // The Sheets outage procedure records why it started before its first step.
    const { handle, queue } = await startUnserved('sheetsOutage');
    await eventually(async () => (await status(handle)).events.some((e) => e.message.startsWith('Sheets outage: unserved host queue')), 60_000, 'the first record pending');
    const { result, ms, status: end, activityTimeouts, slackMs } = await abortAndTime(handle, 'nobody serves it');
    expect(result.outcome).toBe('aborted');
    expect(activityTimeouts, 'activities timed out').toBe(0);
    expect(ms, 'ms from abort to the end').toBeLessThan(HOST_QUEUE_TIMEOUT_MS - 5_000 + slackMs);
    expect(end.events.map((e) => e.message).join('\n')).toContain(`in this status only: no worker serves ${queue}`);
  });

  it('the step fails into the decision after the timeout, naming the queue; updates with over-long text are refused; abort ends it', async () => {
    const { handle, queue, startedAt } = await startUnserved();
    const failed = await eventually(async () => (await status(handle)).failedStep, HOST_QUEUE_TIMEOUT_MS + 45_000, 'the lock step to fail');
    const ms = Date.now() - startedAt;
    expect(ms, 'not before the timeout').toBeGreaterThanOrEqual(HOST_QUEUE_TIMEOUT_MS);
    expect(failed.step).toBe('acquire atlas.db lock');
    expect(failed.error).toContain(`no worker serves ${queue}: start the atlas-ops worker on ${queue.split('@')[1]}`);
    expect(failed.allowed).toEqual(['retry', 'abort']);
    // Operator text an update carries has the same cap as the input: refused, naming the field.
    const long = 'n'.repeat(TEXT_MAX + 1);
    await expect(handle.executeUpdate(decisionUpdate, { args: [{ decision: 'retry', note: long }] })).rejects.toMatchObject({
      cause: { message: expect.stringContaining(`note: is ${TEXT_MAX + 1} characters long, over the cap of ${TEXT_MAX}`) },
    });
    expect((await status(handle)).failedStep?.step, 'the refused update changed nothing').toBe('acquire atlas.db lock');
    // A signal cannot be refused: its text is cut before it goes anywhere else.
    const { result, ms: abortMs, status: end, slackMs } = await abortAndTime(handle, 'x'.repeat(1_000_000));
    expect(result.outcome).toBe('aborted');
    expect(abortMs).toBeLessThan(HOST_QUEUE_TIMEOUT_MS + slackMs);
    expect(Math.max(...end.events.map((e) => e.message.length)), 'longest status event').toBeLessThan(TEXT_MAX + 500);
    recordFault({ fault: 'procedure sent to an unserved host queue', survived: true, dataLost: 0 });
  });

  it('changed on disk: nothing (no lock, flag, backup, log line or alert), no schedule paused', async () => {
    expectNoTrace(t.home);
    for (const name of SCHEDULES) expect((await schedulePaused(t, name)).paused, name).toBe(false);
  });
});
