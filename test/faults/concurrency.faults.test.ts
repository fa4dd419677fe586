// Fault suite, concurrent starts (docs/safety.md#one-database-changer-at-a-time): procedures that change atlas.db (maintenance,
// restore, corruptionRecovery) started at the same moment — exactly one proceeds, the others fail
// at once with ProcedureConflict naming it and touch nothing; singleton procedures started twice at
// the same moment (startOnce) run once.
import { describe, expect, it } from 'vitest';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { openOpsDb } from '../../src/db/ops-db';
import { takeSnapshot } from '../../src/db/snapshot';
import { atlasPaths } from '../../src/paths';
import { startOnce } from '../../src/temporal/start';
import { abortSignal, statusQuery } from '../../workflows/lib/procedure';
import { useAtlas } from '../helpers/atlas';
import { eventually, schedulePaused, uid } from '../helpers/env';
import { lostTaskSlackMs } from '../helpers/history';
import { recordFault } from './report';

const SCHEDULES = ['export', 'import', 'backup'];

let backupName: string;

const t = useAtlas({
  schedules: SCHEDULES,
  worker: true,
  async prepare(a) {
    const paths = atlasPaths(a.home);
    backupName = (await takeSnapshot({ source: paths.atlasDb, backupsDir: paths.backupsDir, reason: 'for the restore race' })).file;
  },
});

const activitiesOf = async (h: WorkflowHandle) =>
  ((await h.fetchHistory()).events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name ?? '?'] : []));

interface RaceOutcome {
  h: WorkflowHandle;
  settled: unknown;
  ms: number;
}

// corruptionRecovery refused still raises a critical alert: a detected corruption whose recovery
// could not run must reach the operator. It changes nothing else.
const ALLOWED_WHEN_REFUSED = ['procedureContext', 'acquireDbLock', 'raiseAlert'];

async function checkRace(outcomes: RaceOutcome[]): Promise<void> {
  const conflicts = outcomes.filter((o) => o.settled instanceof WorkflowFailedError);
  const winners = outcomes.filter((o) => !(o.settled instanceof WorkflowFailedError));
  expect(winners.map((w) => w.h.workflowId), 'exactly one proceeds').toHaveLength(1);
  const winner = winners[0]!;
  for (const c of conflicts) {
    const cause = (c.settled as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe('ProcedureConflict');
    expect((cause as ApplicationFailure).message).toContain(winner.h.workflowId);
    // At once, but for the timeout of each workflow task a loaded machine lost (read from the history).
    expect(c.ms, 'conflict reported at once').toBeLessThan(15_000 + lostTaskSlackMs((await c.h.fetchHistory()).events ?? []));
    // No effect: nothing after the refused lock (no pause, no flag, no snapshot, no restore).
    const acts = await activitiesOf(c.h);
    expect(acts.filter((a) => !ALLOWED_WHEN_REFUSED.includes(a)), c.h.workflowId).toEqual([]);
  }
}

describe('concurrent starts', { timeout: 150_000 }, () => {
  for (const round of [1, 2, 3]) {
    it(`maintenance, restore and corruptionRecovery at the same moment: one proceeds, the others conflict (round ${round})`, async () => {
      const inputs: Record<string, Record<string, unknown>> = {
        maintenance: { reason: `race ${round}`, editTimeout: '2m', reminderInterval: '1m' },
        restore: { backup: backupName, reason: `race ${round}` },
        corruptionRecovery: { trigger: `race ${round}`, allowOci: false },
      };
      const started = Date.now();
      const handles = await Promise.all(Object.entries(inputs).map(([type, input]) =>
        t.client.workflow.start(type, { taskQueue: t.config.taskQueue, workflowId: `race${round}-${type}-${uid()}`, args: [input] })));
      // Each either reaches the edit wait (maintenance), completes, or fails.
      const outcomes = await Promise.all(handles.map(async (h) => {
        const settled = await Promise.race([
          h.result().then(() => 'completed' as const, (e: unknown) => e),
          eventually(async () => (await h.query(statusQuery)).phase === 'edit', 60_000, 'edit phase').then(() => 'editing' as const),
        ]);
        return { h, settled, ms: Date.now() - started };
      }));
      try {
        await checkRace(outcomes);
      } finally {
        const editing = outcomes.find((o) => o.settled === 'editing');
        if (editing) {
          await editing.h.signal(abortSignal, { by: 'fault-suite' });
          await editing.h.result();
        }
      }
      // The winner gave everything back.
      const paths = atlasPaths(t.home);
      const ops = openOpsDb(paths.opsDb);
      try {
        expect(ops.prepare('SELECT COUNT(*) FROM locks').pluck().get()).toBe(0);
      } finally {
        ops.close();
      }
      for (const name of SCHEDULES) expect((await schedulePaused(t, name)).paused, name).toBe(false);
      recordFault({ fault: 'concurrent starts of atlas.db procedures', survived: true, dataLost: 0 });
    });
  }

  for (const [type, name, input] of [
    ['sheetsOutage', 'sheets-outage', { reason: 'race', pollIntervals: ['10m'], reminderInterval: '10m' }],
    ['diskEmergency', 'disk-emergency', { dryRun: true, trigger: 'race', decisionTimeout: '10m' }],
  ] as const) {
    it(`two ${type} starts at the same moment (startOnce) yield one run`, async () => {
      const config = { ...t.config, scheduleIdPrefix: `${t.config.scheduleIdPrefix}${uid()}-` };
      const [a, b] = await Promise.all([1, 2].map(() => startOnce(t.client, config, type, name, { ...input }, `race ${type}`)));
      expect(a!.workflowId).toBe(b!.workflowId);
      expect([a!.started, b!.started].sort()).toEqual([false, true]);
      const runs = await eventually(async () => {
        const found = [];
        for await (const w of t.client.workflow.list({ query: `WorkflowId = '${a!.workflowId}'` })) found.push(w.runId);
        return found.length ? found : undefined;
      }, 60_000, 'the run to be listed');
      expect(runs).toHaveLength(1);
      await t.client.workflow.getHandle(a!.workflowId).terminate('fault suite: race checked').catch(() => undefined);
      recordFault({ fault: 'concurrent starts of a singleton procedure', survived: true, dataLost: 0 });
    });
  }
});
