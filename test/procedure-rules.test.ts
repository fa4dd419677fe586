// The rules every procedure shares, checked in seconds: the real workflow code (maintenance, the
// procedure with every kind of wait) on the real dev server, with in-test activities that record
// their calls and fail where a test says so, and durations of a fraction of a second.
//   - a failed step with no decision in decisionTimeout ends in the safe abort, undo included;
//   - while a person is awaited, a reminder is raised every reminderInterval;
//   - a decision when no step failed, a resume when no edit is awaited: recorded, not acted on;
//   - skip is offered, and accepted, only at a skippable step;
//   - the undo runs on every exit: abort, rollback, failure.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import { failure } from '../src/workflow-safe/failures';
import { DURATION_MIN } from '../src/workflow-safe/limits';
import { abortSignal, decisionUpdate, decisionSignal, statusQuery, type ProcedureStatus } from '../workflows/lib/procedure';
import { resumeSignal, resumeUpdate, type maintenance, type MaintenanceInput, type MaintenanceResult } from '../workflows/maintenance';
import { eventually, uid } from './helpers/env';
import { lostTaskSlackMs } from './helpers/history';
import { startStubWorker, type ActivityName, type Call, type StubWorker } from './helpers/stub-worker';

/** A step that still fails after its retries (none here): a test-only type, so the operator decides. */
const fails = () => () => {
  throw ApplicationFailure.create({ type: 'StubFailure', message: 'stub failure', nonRetryable: true });
};

/**
 * A broken rule often shows as a wait that never ends: fail within a minute, not at the suite's 4
 * minutes. Each test takes 1-4 s here; a minute also covers the 60 s its waits allow on a loaded CI.
 */
const fast = { timeout: 60_000 };

let w: StubWorker;

beforeAll(async () => {
  const ok = async () => undefined;
  w = await startStubWorker({
    defaults: {
      acquireDbLock: ok,
      releaseDbLock: ok,
      recordProcedureEvent: ok,
      raiseAlert: () => ({ sent: false }),
      resolveAlert: ok,
      pauseSchedules: (i) => ({ paused: i.names, alreadyPaused: [] }),
      unpauseSchedules: (i) => i.names,
      waitForSchedulesIdle: () => ({ waitedMs: 0 }),
      snapshotAtlasDb: () => ({ file: 'atlas_stub.db', sha256: '0'.repeat(64), size: 1, rowCounts: {} }),
      ociVolumeBackup: () => ({ backupId: 'ocid1.backup.stub', state: 'AVAILABLE' }),
      setMaintenanceFlag: ok,
      clearMaintenanceFlag: ok,
      sheetsSetBanner: ok,
      startSqliteWeb: () => ({ started: false, hint: 'stub' }),
      stopSqliteWeb: ok,
      checkAtlasDb: () => ({ ok: true, problems: [] }),
      probeAtlasDb: () => ({ journalMode: 'wal', walSwitchedOn: false }),
      restoreAtlasDb: () => ({ keptAs: ['atlas.db.failed-edit-stub'] }),
      stopAppUnits: () => ({ stopped: [] }),
      startAppUnits: () => [],
      atlasDbHolders: () => [],
    },
  });
});
afterAll(async () => {
  await w?.stop();
});

/** Starts maintenance with short waits; `stubs` replaces activities for this run only. */
async function start(input: MaintenanceInput = {}, stubs: Parameters<StubWorker['script']>[1] = {}) {
  const workflowId = `rules-${uid()}`;
  w.script(workflowId, stubs);
  const handle = await w.client.workflow.start<typeof maintenance>('maintenance', {
    taskQueue: w.taskQueue,
    workflowId,
    args: [{ reason: 'procedure rules', decisionTimeout: '1h', ...input }],
  });
  const status = () => handle.query(statusQuery);
  const until = (what: string, ok: (s: ProcedureStatus) => boolean) => eventually(async () => ((s) => (ok(s) ? s : undefined))(await status()), 60_000, what);
  return { handle, workflowId, status, until, names: () => w.names(workflowId), calls: () => w.calls(workflowId) };
}

/** The reminders (raiseAlert with remind) the workflow scheduled: in all, and after the resume signal came in. */
async function remindersScheduled(handle: WorkflowHandle): Promise<{ total: number; afterResume: number }> {
  let resumed = false;
  let total = 0;
  let afterResume = 0;
  for (const e of (await handle.fetchHistory()).events ?? []) {
    if (e.workflowExecutionSignaledEventAttributes?.signalName === resumeSignal.name) resumed = true;
    const a = e.activityTaskScheduledEventAttributes;
    if (a?.activityType?.name !== 'raiseAlert') continue;
    const input = defaultPayloadConverter.fromPayload<{ remind?: boolean }>(a.input!.payloads![0]!);
    if (!input.remind) continue;
    total++;
    if (resumed) afterResume++;
  }
  return { total, afterResume };
}

const waitingForEdits = (s: ProcedureStatus) => s.phase === 'edit' && s.state === 'waiting';
const failedStep = (step: string) => (s: ProcedureStatus) => s.failedStep?.step === step;

/** The safe state came back: flag cleared, exactly the paused schedules unpaused, lock released. */
function expectUndone(run: { names(): ActivityName[]; calls(): Call[] }, flagWasSet: boolean) {
  const names = run.names();
  expect(names.includes('clearMaintenanceFlag')).toBe(flagWasSet);
  const paused = (run.calls().find((c) => c.name === 'pauseSchedules')?.input as { names: string[] }).names;
  expect(paused.length).toBeGreaterThan(0);
  expect(run.calls().find((c) => c.name === 'unpauseSchedules')?.input).toMatchObject({ names: paused });
  expect(names).toContain('releaseDbLock');
}

describe('a decision that never comes', fast, () => {
  it('ends in the safe abort after decisionTimeout, and the undo ran', async () => {
    const run = await start({ decisionTimeout: '1s' }, { snapshotAtlasDb: fails() });
    const failed = await run.until('the failed snapshot step', failedStep('snapshot'));
    expect(failed.waitingFor).toMatch(/^a decision on failed step snapshot/);
    const began = Date.now();
    const result = (await run.handle.result()) as MaintenanceResult;
    expect(result.outcome).toBe('aborted');
    expect(result.abortedBy).toBe('timeout');
    // Soon after the timeout; a workflow task lost to load adds its own timeout.
    expect(Date.now() - began).toBeLessThan(10_000 + lostTaskSlackMs((await run.handle.fetchHistory()).events ?? []));
    expect((await run.status()).state).toBe('aborted');
    expectUndone(run, false);
  });
});

describe('waiting for a person', fast, () => {
  it('raises a reminder every reminderInterval until the person acts', async () => {
    // The shortest reminder interval accepted (DURATION_MIN in src/workflow-safe/limits.ts).
    const interval = DURATION_MIN.reminderInterval;
    const run = await start({ reminderInterval: interval, editTimeout: '1h' });
    await run.until('the edit wait', waitingForEdits);
    const reminders = () => run.calls().filter((c) => c.name === 'raiseAlert' && (c.input as { remind?: boolean }).remind);
    await eventually(() => reminders().length >= 3, 60_000, 'three reminders');
    await run.handle.signal(resumeSignal, { by: 'tester' });
    expect(((await run.handle.result()) as MaintenanceResult).outcome).toBe('completed');
    // No reminder after the person acted, read from the history: a count of calls taken before the
    // signal races the next reminder, which a loaded machine can start before the signal lands.
    const scheduled = await remindersScheduled(run.handle);
    expect(scheduled.total).toBeGreaterThanOrEqual(3);
    expect(scheduled.afterResume).toBe(0);
    // Each reminder says how long the wait has lasted.
    const waited = reminders().map((c) => (c.input as { message: string }).message);
    expect(waited[0]).toMatch(/has waited \S+: edits to atlas\.db/);
    expect(new Set(waited).size).toBe(waited.length);
  });

  it('raises none while the interval has not passed', async () => {
    const run = await start({ reminderInterval: '1h', editTimeout: '1h' });
    await run.until('the edit wait', waitingForEdits);
    await new Promise((r) => setTimeout(r, 1_000));
    await run.handle.signal(resumeSignal, { by: 'tester' });
    await run.handle.result();
    expect(run.calls().filter((c) => c.name === 'raiseAlert' && (c.input as { remind?: boolean }).remind)).toEqual([]);
  });
});

describe('ignored and late signals are recorded, not acted on', fast, () => {
  it('a decision when no step failed: an event, the update refused, the wait goes on', async () => {
    const run = await start();
    await run.until('the edit wait', waitingForEdits);
    await run.handle.signal(decisionSignal, { decision: 'abort', by: 'early' });
    await expect(run.handle.executeUpdate(decisionUpdate, { args: [{ decision: 'abort', by: 'early' }] })).rejects.toThrow(WorkflowUpdateFailedError);
    const s = await run.until('the ignored decision event', (x) => x.events.some((e) => e.message.includes('ignored decision "abort"')));
    expect(s.events.find((e) => e.message.includes('ignored decision'))).toMatchObject({ actor: 'early', message: expect.stringContaining('no step is waiting for one') });
    expect(waitingForEdits(s)).toBe(true);
    await run.handle.signal(resumeSignal, { by: 'tester' });
    expect(((await run.handle.result()) as MaintenanceResult).outcome).toBe('completed');
  });

  it('a resume when no edit is awaited: an event, the update refused, and it is not kept for later', async () => {
    let snapshots = 0;
    const run = await start({}, {
      snapshotAtlasDb: (i) => {
        if (++snapshots === 1) fails()();
        return { file: 'atlas_stub.db', sha256: '0'.repeat(64), size: 1, rowCounts: {}, reason: i.reason };
      },
    });
    await run.until('the failed snapshot step', failedStep('snapshot'));
    await run.handle.signal(resumeSignal, { by: 'early' });
    await expect(run.handle.executeUpdate(resumeUpdate, { args: [{ by: 'early' }] })).rejects.toThrow(WorkflowUpdateFailedError);
    const s = await run.until('the ignored resume event', (x) => x.events.some((e) => e.message.startsWith('ignored resume')));
    expect(s.events.find((e) => e.message.startsWith('ignored resume'))?.actor).toBe('early');
    await run.handle.executeUpdate(decisionUpdate, { args: [{ decision: 'retry', by: 'tester' }] });
    // The early resume did not count: the procedure now waits for edits, and keeps waiting.
    await run.until('the edit wait', waitingForEdits);
    await new Promise((r) => setTimeout(r, 500));
    expect(waitingForEdits(await run.status())).toBe(true);
    // A decision after the step was decided is late: ignored as well.
    await run.handle.signal(decisionSignal, { decision: 'retry', by: 'late' });
    await run.until('the late decision event', (x) => x.events.some((e) => e.actor === 'late' && e.message.startsWith('ignored decision')));
    await run.handle.signal(abortSignal, { by: 'tester' });
    expect(((await run.handle.result()) as MaintenanceResult).outcome).toBe('aborted');
  });
});

describe('skip', fast, () => {
  it('is offered and accepted at a skippable step', async () => {
    const run = await start({ oci: true }, { ociVolumeBackup: fails() });
    const s = await run.until('the failed OCI step', failedStep('OCI volume backup'));
    expect(s.failedStep?.allowed).toContain('skip');
    await run.handle.executeUpdate(decisionUpdate, { args: [{ decision: 'skip', by: 'tester' }] });
    await run.until('the edit wait', waitingForEdits);
    await run.handle.signal(resumeSignal, { by: 'tester' });
    const result = (await run.handle.result()) as MaintenanceResult;
    expect(result.outcome).toBe('completed');
    expect(result.ociBackup).toEqual({ skipped: true, backupId: undefined });
  });

  it('is refused by the update, and ignored as a signal, at a step that cannot be skipped', async () => {
    const run = await start({}, { snapshotAtlasDb: fails() });
    const s = await run.until('the failed snapshot step', failedStep('snapshot'));
    expect(s.failedStep?.allowed).toEqual(['retry', 'abort']);
    await expect(run.handle.executeUpdate(decisionUpdate, { args: [{ decision: 'skip', by: 'tester' }] })).rejects.toThrow(WorkflowUpdateFailedError);
    await run.handle.signal(decisionSignal, { decision: 'skip', by: 'tester' });
    const after = await run.until('the ignored skip event', (x) => x.events.some((e) => e.message.startsWith('ignored decision "skip"')));
    expect(after.failedStep?.step).toBe('snapshot');
    expect(run.names()).not.toContain('setMaintenanceFlag');
    await run.handle.executeUpdate(decisionUpdate, { args: [{ decision: 'abort', by: 'tester' }] });
    expect(((await run.handle.result()) as MaintenanceResult).outcome).toBe('aborted');
  });
});

describe('the undo runs on every exit', fast, () => {
  it('abort while waiting for a person', async () => {
    const run = await start();
    await run.until('the edit wait', waitingForEdits);
    await run.handle.signal(abortSignal, { by: 'tester', note: 'changed my mind' });
    const result = (await run.handle.result()) as MaintenanceResult;
    expect(result).toMatchObject({ outcome: 'aborted', abortedBy: 'tester', unpausedSchedules: result.pausedSchedules });
    expect(run.names()).not.toContain('restoreAtlasDb');
    expectUndone(run, true);
  });

  it('rollback chosen at a failed step', async () => {
    const run = await start({}, { checkAtlasDb: fails() });
    await run.until('the edit wait', waitingForEdits);
    await run.handle.signal(resumeSignal, { by: 'tester' });
    const s = await run.until('the failed integrity step', failedStep('integrity check'));
    expect(s.failedStep?.allowed).toContain('rollback');
    await run.handle.executeUpdate(decisionUpdate, { args: [{ decision: 'rollback', by: 'tester' }] });
    const result = (await run.handle.result()) as MaintenanceResult;
    expect(result).toMatchObject({ outcome: 'rolled-back', unpausedSchedules: result.pausedSchedules });
    expect(run.names()).toContain('restoreAtlasDb');
    expectUndone(run, true);
  });

  it('abort with a sqlite-web listener atlas-ops cannot prove it started: the undo goes on and says which process', async () => {
    const leftover = 'stub: 127.0.0.1:8002 is still served by pid 4242 (sqlite_web)';
    const run = await start({ sqliteWeb: true }, {
      startSqliteWeb: () => ({ started: true, url: 'http://127.0.0.1:8002', hint: 'stub' }),
      stopSqliteWeb: () => {
        throw failure.UnprovenProcess(leftover);
      },
    });
    await run.until('the edit wait', waitingForEdits);
    await run.handle.signal(abortSignal, { by: 'tester' });
    const result = (await run.handle.result()) as MaintenanceResult;
    expect(result.outcome).toBe('aborted');
    expectUndone(run, true);
    const alert = run.calls().find((c) => c.name === 'raiseAlert' && (c.input as { code: string }).code.startsWith('maintenance-sqlite-web:'));
    expect(alert?.input).toMatchObject({ level: 'warning', message: expect.stringContaining(`sqlite-web not stopped: ${leftover}`) });
    expect((await run.status()).events.map((e) => e.message)).toContain(`sqlite-web not stopped: ${leftover}`);
  });

  it('failure that no decision can mend', async () => {
    const run = await start({}, { waitForSchedulesIdle: () => { throw failure.DrainTimeout('stub: runs still running'); } });
    const err = await run.handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(failure.DrainTimeout.is((err as WorkflowFailedError).cause)).toBe(true);
    expect((await run.status()).state).toBe('failed');
    expect(run.names()).not.toContain('snapshotAtlasDb');
    expectUndone(run, false);
  });
});
