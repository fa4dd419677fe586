// incidentResponse end to end: seven stages advanced by the CLI with notes; contain pauses the
// schedules that run (not the monitoring ones), investigate gathers evidence, recover unpauses
// exactly those, learn writes a postmortem whose timeline comes from the workflow history. A stage
// nobody advances pages, then times out into its documented safe state.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openOpsDb } from '../src/db/ops-db';
import type { AlertRow } from '../src/alerts';
import { statusQuery, abortSignal } from '../workflows/lib/procedure';
import { advanceSignal, type IncidentResult } from '../workflows/incident';
import { INCIDENT_STAGES } from '../src/workflow-safe/incident-stages';
import { useAtlas } from './helpers/atlas';
import { createSchedules, eventually, runCli, schedulePaused, uid } from './helpers/env';

const SCHEDULED = ['export', 'import', 'backup', 'weekly', 'health'];

const t = useAtlas({ worker: true });

async function phase(id: string) {
  return (await t.client.workflow.getHandle(id).query(statusQuery)).phase;
}

describe('incidentResponse', () => {
  it('walks the seven stages; the postmortem timeline lists them in order with their notes', async () => {
    await createSchedules(t, SCHEDULED, ['backup']);
    const start = await runCli(t, ['--json', 'incident', 'start', '--summary', 'exports failing since 08:00', '--by', 'dana']);
    expect(start.code, start.stderr).toBe(0);
    const id = JSON.parse(start.stdout).workflowId as string;
    const handle = t.client.workflow.getHandle(id);
    await eventually(async () => (await phase(id)) === 'detect', 60_000, 'detect');

    // A stale advance naming another stage is ignored, here and in the timeline.
    await handle.signal(advanceSignal, { stage: 'recover', note: 'stale click', by: 'sam' });
    const notes: Record<string, string> = {};
    for (const stage of INCIDENT_STAGES.slice(1)) {
      notes[stage] = `note for ${stage}`;
      const r = await runCli(t, ['incident', 'advance', id, '--note', notes[stage]!, '--by', 'lee']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`→ ${stage}`);
      if (stage === 'learn') break;
      await eventually(async () => (await phase(id)) === stage, 60_000, stage);
      if (stage === 'contain') {
        await eventually(async () => (await schedulePaused(t, 'export')).paused, 60_000, 'export paused');
        expect(await schedulePaused(t, 'import')).toMatchObject({ paused: true, note: `paused by incidentResponse ${id}` });
        expect(await schedulePaused(t, 'backup')).toMatchObject({ paused: true, note: 'paused by the operator for testing' });
        expect((await schedulePaused(t, 'health')).paused).toBe(false);
      }
    }
    const result = (await handle.result()) as IncidentResult;
    expect(result.outcome).toBe('completed');
    expect(result.stages.map((s) => s.stage)).toEqual([...INCIDENT_STAGES]);
    expect(result.pausedSchedules.sort()).toEqual(['export', 'import', 'weekly']);
    expect(result.unpausedSchedules.sort()).toEqual(['export', 'import', 'weekly']);
    expect((await schedulePaused(t, 'export')).paused).toBe(false);
    expect((await schedulePaused(t, 'backup')).paused).toBe(true);

    expect(fs.existsSync(`${result.evidence!.dir}/alerts.json`)).toBe(true);
    expect(result.evidence!.files).toBeGreaterThan(0);

    const md = fs.readFileSync(result.postmortem!, 'utf8');
    const timeline = md.split('\n').filter((l) => l.startsWith('- 20'));
    expect(timeline.map((l) => /\*\*(\w+)\*\*/.exec(l)![1])).toEqual([...INCIDENT_STAGES]);
    expect(timeline[0]).toContain('(dana): exports failing since 08:00');
    for (const [i, stage] of INCIDENT_STAGES.slice(1).entries()) expect(timeline[i + 1]).toContain(`(lee): ${notes[stage]}`);
    expect(md).not.toContain('stale click');
    const times = timeline.map((l) => Date.parse(l.slice(2, 26)));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it('an abort after contain unpauses what contain paused', async () => {
    await createSchedules(t, SCHEDULED);
    const start = await runCli(t, ['--json', 'incident', 'start', '--summary', 'false alarm', '--pause', 'export,import']);
    const id = JSON.parse(start.stdout).workflowId as string;
    const handle = t.client.workflow.getHandle(id);
    await eventually(async () => (await phase(id)) === 'detect', 60_000, 'detect');
    await handle.signal(advanceSignal, { note: 'looks bad' });
    await eventually(async () => (await phase(id)) === 'assess', 60_000, 'assess');
    await handle.signal(advanceSignal, { note: 'stop the syncs' });
    await eventually(async () => (await schedulePaused(t, 'import')).paused, 60_000, 'import paused');
    expect((await schedulePaused(t, 'weekly')).paused).toBe(false);
    await handle.signal(abortSignal, { by: 'dana', note: 'false alarm' });
    const result = (await handle.result()) as IncidentResult;
    expect(result).toMatchObject({ outcome: 'aborted', pausedSchedules: ['export', 'import'], unpausedSchedules: ['export', 'import'] });
    expect((await schedulePaused(t, 'export')).paused).toBe(false);
  });

  it('a stage nobody advances pages, then times out: outcome timed-out in status and result, what contain paused stays paused, the postmortem and a critical alert say what to do next', async () => {
    await createSchedules(t, SCHEDULED);
    const id = `incident-timeout-${uid()}`;
    // Both advances are queued before the detect and assess waits begin: only contain waits.
    const handle = await t.client.workflow.signalWithStart('incidentResponse', {
      taskQueue: t.config.taskQueue,
      workflowId: id,
      args: [{ summary: 'nobody home', pause: ['export', 'import'], pageAfter: '1s', stageTimeout: '6s', reminderInterval: '1s' }],
      signal: advanceSignal,
      signalArgs: [{ stage: 'assess', note: 'seen' }],
    });
    await handle.signal(advanceSignal, { stage: 'contain', note: 'stop the syncs' });
    const result = (await handle.result()) as IncidentResult;

    expect(result.outcome).toBe('timed-out');
    expect(result.waits).toEqual({ pageAfter: 1000, stageTimeout: 6000 });
    expect(result.stages.map((s) => s.stage)).toEqual(['detect', 'assess', 'contain']);
    expect(result.timedOut).toMatchObject({ stage: 'contain', after: '6s' });
    expect(result.timedOut!.state).toBe('The schedules contain paused stay paused: export, import (the containment stands until a person ends it).');
    expect(result.timedOut!.next).toContain('Nobody investigated.');
    expect(result.timedOut!.next).toContain('atlas-ops schedules unpause export; atlas-ops schedules unpause import');
    expect(result.unpausedSchedules).toEqual([]);
    expect((await schedulePaused(t, 'export')).paused).toBe(true);
    expect((await schedulePaused(t, 'import')).paused).toBe(true);
    expect((await schedulePaused(t, 'weekly')).paused).toBe(false);
    const status = await handle.query(statusQuery);
    expect(status.state).toBe('timed-out');
    expect(status.facts.timedOut).toEqual(result.timedOut);

    // The page came before the timeout, on the stage's own alert; the timeout's alert stays open.
    const log = fs.readFileSync(path.join(t.home, 'logs', 'alerts.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { code: string; level: string; message: string });
    const own = log.filter((e) => e.code === `incident:${id}`);
    expect(own.some((e) => e.level === 'critical' && e.message.startsWith(`page: incidentResponse ${id} has waited`))).toBe(true);
    const ops = openOpsDb(path.join(t.home, 'data', 'ops.db'));
    try {
      const late = ops.prepare('SELECT * FROM alerts WHERE code = ?').get(`incident-timed-out:${id}`) as AlertRow;
      expect(late).toMatchObject({ level: 'critical', resolved_at: null });
      expect(late.message).toContain('atlas-ops schedules unpause export');
    } finally {
      ops.close();
    }
    expect(fs.readFileSync(result.postmortem!, 'utf8')).toContain('**Outcome:** timed out in stage contain: nobody advanced it within 6s.');

    // An advance after the end changes nothing; the CLI says there is nothing to advance.
    const r = await runCli(t, ['incident', 'advance', id, '--note', 'too late']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`incident ${id} is in phase timed-out: nothing to advance`);
  });

  it('advance refuses a workflow that is not an incident, and start refuses bad input naming the field', async () => {
    const r = await runCli(t, ['incident', 'advance', 'no-such-workflow', '--note', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('workflow no-such-workflow does not exist');
    await expect(t.client.workflow.execute('incidentResponse', { taskQueue: t.config.taskQueue, workflowId: `inc-bad-${t.id}`, args: [{ pause: 'export' }] }))
      .rejects.toMatchObject({ cause: { type: 'InvalidInput', message: expect.stringContaining('pause: expected a list of schedule names') } });
  });
});
