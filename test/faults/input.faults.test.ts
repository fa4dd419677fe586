// Fault suite, wrong input (docs/operator-contract.md#wrong-input): every registered workflow type, started as an operator
// starts it from the Web UI with hand-typed JSON, fails at once with an InvalidInput failure that
// names the field — before any activity runs, so nothing changes: no backup, no paused schedule,
// no maintenance flag, no lock, atlas.db the same byte for byte. The workflow list is read from
// workflows/index.ts, so a new workflow is covered (and must validate) without editing this file.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { atlasPaths } from '../../src/paths';
import { LIST_MAX, NAME_MAX, TEXT_MAX } from '../../src/workflow-safe/limits';
import { useAtlas } from '../helpers/atlas';
import { schedulePaused, uid } from '../helpers/env';
import { expectNoTrace } from './checks';
import { lostTaskSlackMs, lostWorkflowTasks } from '../helpers/history';
import { recordFault } from './report';

/** Valid values of required fields, so a wrong value in another field is the one reported. */
const REQUIRED: Record<string, Record<string, unknown>> = {
  restore: { backup: 'atlas_20260101-000000.db' },
};

/** Wrong for every field type the validators know (string, boolean, duration, number, list). */
const WRONG = { nested: true };

const SCHEDULES = ['export', 'import', 'backup'];
const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

let atlasBefore: string;
let types: string[];

const t = useAtlas({
  schedules: SCHEDULES,
  worker: true,
  prepare(a) {
    atlasBefore = sha(atlasPaths(a.home).atlasDb);
  },
});
beforeAll(async () => {
  types = Object.keys(await import('../../workflows')).sort();
});

interface Rejection {
  failure: ApplicationFailure;
  ms: number;
  /** Workflow tasks that completed: the first one fails the workflow. */
  completedTasks: number;
  /** History events other than workflow-task retries (a task timed out under load and was scheduled again). */
  events: number;
  /** What workflow tasks that timed out before the worker answered added to `ms` (the machine, not the validation). */
  slackMs: number;
  activities: string[];
}

/** Starts `type` with `input` as the Web UI does and returns how it failed. */
async function reject(type: string, input: unknown): Promise<Rejection> {
  const started = Date.now();
  const handle = await t.client.workflow.start(type, { taskQueue: t.config.taskQueue, workflowId: `bad-${type}-${uid()}`, args: [input] });
  const err = await handle.result().then(() => undefined, (e: unknown) => e);
  const ms = Date.now() - started;
  expect(err, `${type} ${JSON.stringify(input)} should fail`).toBeInstanceOf(WorkflowFailedError);
  const failure = (err as WorkflowFailedError).cause;
  expect(failure, `${type} ${JSON.stringify(input)}`).toBeInstanceOf(ApplicationFailure);
  const history = await handle.fetchHistory();
  const activities = (history.events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name ?? '?'] : []));
  const events = history.events ?? [];
  const completedTasks = events.filter((e) => e.workflowTaskCompletedEventAttributes).length;
  // A loaded machine can time out a workflow task before the worker answers: the server then schedules
  // and starts it again (3 more events). That is the machine, not the validation.
  const retries = lostWorkflowTasks(events);
  return { failure: failure as ApplicationFailure, ms, completedTasks, events: events.length - 3 * retries, slackMs: lostTaskSlackMs(events), activities };
}

function expectRejected(r: Rejection, what: string, field: string): void {
  expect(r.failure.type, `${what}: ${r.failure.message}`).toBe('InvalidInput');
  expect(r.failure.nonRetryable, what).toBe(true);
  expect(r.failure.message, what).toMatch(new RegExp(`^${field}(\\[\\d+\\])?: `));
  // At once: the first workflow task fails it (started, task scheduled/started/completed, failed).
  expect(r.completedTasks, `${what}: workflow tasks completed`).toBe(1);
  expect(r.events, `${what}: history events`).toBeLessThanOrEqual(6);
  expect(r.activities, `${what}: activities run before validation`).toEqual([]);
  // Generous: under a loaded CI the first workflow task can wait seconds for a slot, and each task
  // that timed out (counted above) added its timeout before the server handed it out again.
  expect(r.ms, `${what}: ms to fail`).toBeLessThan(20_000 + r.slackMs);
}

describe('wrong JSON input to every workflow type, as started from the Web UI', { timeout: 120_000 }, () => {
  it('the registry lists the workflows of docs/procedures.md', () => {
    expect(types).toEqual(expect.arrayContaining(['maintenance', 'sheetsExport', 'sheetsImport', 'sheetsOutage', 'backup', 'corruptionRecovery', 'restore', 'diskEmergency', 'healthCheck', 'keyRotation', 'incidentResponse']));
  });

  it('an unknown field, a non-object input and each known field wrongly typed fail at once, naming the field', async () => {
    const known = new Map<string, string[]>();
    await Promise.all(types.map(async (type) => {
      const base = REQUIRED[type] ?? {};
      const bogus = await reject(type, { ...base, bogus: 1 });
      expectRejected(bogus, `${type} {bogus: 1}`, 'bogus');
      expect(bogus.failure.message).toMatch(/unknown field \(known: .+\)/);
      const fields = /\(known: (.+)\)/.exec(bogus.failure.message)![1]!.split(', ');
      known.set(type, fields);
      expectRejected(await reject(type, 'run it'), `${type} "run it"`, 'input');
      expectRejected(await reject(type, [1]), `${type} [1]`, 'input');
      for (const field of fields) {
        const r = await reject(type, { ...base, [field]: WRONG });
        expectRejected(r, `${type} {${field}: ${JSON.stringify(WRONG)}}`, field);
      }
      recordFault({ fault: 'wrong workflow input (Web UI JSON)', survived: true, dataLost: 0 });
    }));
    // Every workflow takes at least hostQueue-style options: none silently accepts anything.
    for (const type of types) expect(known.get(type)?.length, type).toBeGreaterThan(0);
  });

  it('a restore whose target is a live database file (atlas.db, ops.db or a sidecar) fails at once, naming it', async () => {
    for (const target of ['atlas.db', 'ops.db', 'ops.db-wal', 'atlas.db-shm', 'ops.db-journal']) {
      const r = await reject('restore', { ...REQUIRED.restore, target });
      expectRejected(r, `restore {target: ${target}}`, 'target');
      expect(r.failure.message).toContain(`"${target}" is a live database file`);
      recordFault({ fault: 'wrong workflow input (Web UI JSON)', survived: true, dataLost: 0 });
    }
  });

  it('over-long text, too many items and too-short durations fail at once, naming the field, the length or the minimum', async () => {
    const cases: [type: string, input: Record<string, unknown>, field: string, says: string][] = [
      // 1.5 MB: the reason that made a 10.5 MB history and stopped the status query from answering.
      ['maintenance', { reason: 'r'.repeat(1_500_000) }, 'reason', `is 1500000 characters long, over the cap of ${TEXT_MAX}`],
      ['maintenance', { reason: 'r'.repeat(TEXT_MAX + 1) }, 'reason', `over the cap of ${TEXT_MAX}`],
      ['maintenance', { requestedBy: 'b'.repeat(NAME_MAX + 1) }, 'requestedBy', `over the cap of ${NAME_MAX}`],
      ['maintenance', { hostQueue: 'q'.repeat(NAME_MAX + 1) }, 'hostQueue', `over the cap of ${NAME_MAX}`],
      ['maintenance', { reminderInterval: '1ms' }, 'reminderInterval', '1ms is below the minimum of 1s'],
      ['maintenance', { reminderInterval: 1 }, 'reminderInterval', '1ms is below the minimum of 1s'],
      ['maintenance', { decisionTimeout: '500ms' }, 'decisionTimeout', '500ms is below the minimum of 1s'],
      ['maintenance', { drainTimeout: '1ms' }, 'drainTimeout', 'below the minimum of 1s'],
      ['maintenance', { editTimeout: '1ms' }, 'editTimeout', 'below the minimum of 1s'],
      ['maintenance', { editTimeout: '9'.repeat(NAME_MAX + 1) }, 'editTimeout', `over the cap of ${NAME_MAX}`],
      ['sheetsOutage', { pollIntervals: ['1m', '1ms'] }, 'pollIntervals', 'pollIntervals[1]: 1ms is below the minimum of 1s'],
      ['sheetsOutage', { pollIntervals: Array(LIST_MAX + 1).fill('1m') }, 'pollIntervals', `has ${LIST_MAX + 1} items, over the cap of ${LIST_MAX}`],
      ['sheetsOutage', { reason: 'r'.repeat(TEXT_MAX + 1) }, 'reason', `over the cap of ${TEXT_MAX}`],
      ['incidentResponse', { summary: 's'.repeat(TEXT_MAX + 1) }, 'summary', `over the cap of ${TEXT_MAX}`],
      ['incidentResponse', { stageTimeout: '500ms' }, 'stageTimeout', '500ms is below the minimum of 1s'],
      ['incidentResponse', { pageAfter: 1 }, 'pageAfter', '1ms is below the minimum of 1s'],
      ['incidentResponse', { pause: Array(LIST_MAX + 1).fill('export') }, 'pause', `over the cap of ${LIST_MAX}`],
      ['incidentResponse', { pause: ['e'.repeat(NAME_MAX + 1)] }, 'pause', `pause[0]: is ${NAME_MAX + 1} characters long`],
      ['restore', { ...REQUIRED.restore, reason: 'r'.repeat(TEXT_MAX + 1) }, 'reason', `over the cap of ${TEXT_MAX}`],
      ['backup', { reason: 'r'.repeat(TEXT_MAX + 1) }, 'reason', `over the cap of ${TEXT_MAX}`],
      ['corruptionRecovery', { trigger: 't'.repeat(TEXT_MAX + 1) }, 'trigger', `over the cap of ${TEXT_MAX}`],
      ['diskEmergency', { trigger: 't'.repeat(TEXT_MAX + 1) }, 'trigger', `over the cap of ${TEXT_MAX}`],
      ['keyRotation', { timeout: '1ms' }, 'timeout', 'below the minimum of 1s'],
    ];
    await Promise.all(cases.map(async ([type, input, field, says]) => {
      const what = `${type} ${field}`;
      const r = await reject(type, input);
      expectRejected(r, what, field);
      expect(r.failure.message, what).toContain(says);
      // The message never repeats the huge value.
      expect(r.failure.message.length, `${what}: message length`).toBeLessThan(2_000);
      recordFault({ fault: 'wrong workflow input (Web UI JSON)', survived: true, dataLost: 0 });
    }));
    // An unknown field whose name is itself huge is named cut short.
    const huge = await reject('backup', { ['k'.repeat(100_000)]: 1 });
    expect(huge.failure.type).toBe('InvalidInput');
    expect(huge.failure.message).toMatch(/^"k{199}… \(100002 characters\): unknown field/);
  });

  it('a retention of 0 (backup, ociBackup) fails at once, naming the field and the value', async () => {
    for (const type of ['backup', 'ociBackup']) {
      const r = await reject(type, { keep: 0 });
      expectRejected(r, `${type} {keep: 0}`, 'keep');
      expect(r.failure.message).toContain('got 0');
      recordFault({ fault: 'wrong workflow input (Web UI JSON)', survived: true, dataLost: 0 });
    }
  });

  it('an incident whose pause list names unknown schedules, or whose summary is blank, fails at start, naming them', async () => {
    const cases: [unknown, string, RegExp][] = [
      [{ pause: ['exprot'] }, 'pause', /"exprot" is not a schedule \(known: export, import, backup, health/],
      [{ pause: ['export', 'exprot', 'bakcup'] }, 'pause', /"exprot", "bakcup" are not schedules \(known: export, /],
      [{ summary: '' }, 'summary', /must not be blank/],
      [{ summary: '  ' }, 'summary', /must not be blank/],
    ];
    for (const [input, field, message] of cases) {
      const r = await reject('incidentResponse', input);
      expectRejected(r, `incidentResponse ${JSON.stringify(input)}`, field);
      expect(r.failure.message).toMatch(message);
      // changed on disk: nothing (the last test of this file checks the whole home)
      recordFault({ fault: 'wrong workflow input (Web UI JSON)', survived: true, dataLost: 0 });
    }
  });

  it('every workflow type started for another home (or a relative one) is refused, naming both homes, before any host step', async () => {
    const other = '/nonexistent/other-atlas-home';
    await Promise.all(types.map(async (type) => {
      const relative = await reject(type, { ...REQUIRED[type], home: 'atlas' });
      expectRejected(relative, `${type} {home: "atlas"}`, 'home');
      const r = await reject(type, { ...REQUIRED[type], home: other });
      expect(r.failure.type, `${type}: ${r.failure.message}`).toBe('WrongTarget');
      expect(r.failure.message).toBe(`this worker serves ${t.home}, the procedure asked for ${other}: start a worker for ${other} or drop --home`);
      // Where the worker is and what it serves: nothing else ran.
      expect(r.activities.filter((a) => a !== 'procedureContext'), type).toEqual(['confirmTarget']);
      // changed on disk: nothing (the last test of this file checks the whole home)
      recordFault({ fault: 'procedure for another home', survived: true, dataLost: 0 });
    }));
  });

  it('had no effect: atlas.db unchanged byte for byte, no backup, no flag, no lock, no schedule paused', async () => {
    expect(sha(atlasPaths(t.home).atlasDb)).toBe(atlasBefore);
    expectNoTrace(t.home);
    for (const name of SCHEDULES) expect((await schedulePaused(t, name)).paused, name).toBe(false);
  });
});
