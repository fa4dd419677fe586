// Alerts that join an incident late, on the real dev server: the real workflow bundle with the real
// investigate and postmortem activities (an Atlas home, its reports/), the other steps recorded
// stand-ins (test/helpers/stub-worker.ts). The postmortem activity is held by an explicit switch
// while an alert joins, so "during the postmortem" is a state, not a race: the postmortem is
// written again with it, and an alert that joined after investigate says it is not in evidence.json.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActivityContext } from '../activities/deps';
import { createIncidentActivities } from '../activities/incident';
import type { IncidentAlert } from '../src/workflow-safe/incident-stages';
import { advanceSignal, alertSignal, type IncidentResult } from '../workflows/incident';
import { statusQuery } from '../workflows/lib/procedure';
import { useAtlas } from './helpers/atlas';
import { eventually, uid } from './helpers/env';
import { startStubWorker, type StubWorker } from './helpers/stub-worker';

const t = useAtlas({});
let w: StubWorker;
let ctx: ActivityContext;
/** The detection each postmortem was written with, in order. */
const postmortems: IncidentAlert[][] = [];
let releasePostmortem!: () => void;
const postmortemHeld = new Promise<void>((r) => (releasePostmortem = r));

beforeAll(async () => {
  const ok = async () => undefined;
  ctx = new ActivityContext({ config: t.config, client: t.client });
  const real = createIncidentActivities(ctx);
  w = await startStubWorker({
    // A generous step timeout: the held postmortem must not be timed out and retried meanwhile.
    context: { defaults: { editTimeout: 3_600_000, reminderInterval: 3_600_000, drainTimeout: 60_000, decisionTimeout: 3_600_000, hostQueueTimeout: 120_000, stepTimeout: 300_000 } },
    defaults: {
      recordProcedureEvent: ok,
      raiseAlert: () => ({ sent: false }),
      resolveAlert: ok,
      pauseSchedules: (i) => ({ paused: i.names, alreadyPaused: [] }),
      unpauseSchedules: (i) => i.names,
      gatherIncidentEvidence: (i) => real.gatherIncidentEvidence(i),
      writePostmortem: async (i) => {
        postmortems.push(i.detection ?? []);
        if (postmortems.length === 1) await postmortemHeld;
        return real.writePostmortem(i);
      },
    },
  });
});
afterAll(async () => {
  releasePostmortem();
  await w?.stop();
  ctx?.close();
});

const alert = (id: number, code: string): IncidentAlert => ({ id, code, level: 'critical', message: `${code} is failing`, raisedAt: new Date(Date.now() - 20 * 60_000).toISOString() });

describe('alerts that join an incident late', { timeout: 300_000 }, () => {
  it('one that joins after investigate is in the postmortem, marked as not in evidence.json; one that joins while the postmortem is written has it written again', async () => {
    const workflowId = `incident-late-${uid()}`;
    const [opening, afterInvestigate, duringPostmortem] = [alert(1, 'test:opening'), alert(2, 'test:after-investigate'), alert(3, 'test:during-postmortem')];
    const handle = await w.client.workflow.signalWithStart('incidentResponse', {
      taskQueue: w.taskQueue,
      workflowId,
      args: [{ summary: 'late alerts', by: 'test' }],
      signal: alertSignal,
      signalArgs: [opening],
    });
    const status = () => handle.query(statusQuery);
    const detected = async (n: number) => eventually(async () => ((await status()).facts.detection as IncidentAlert[]).length === n, 60_000, `${n} detection alerts`);
    for (const stage of ['assess', 'contain', 'investigate'] as const) await handle.signal(advanceSignal, { stage, by: 'test' });
    const evidence = await eventually(async () => (await status()).facts.evidence as IncidentResult['evidence'], 60_000, 'the evidence');

    await handle.signal(alertSignal, afterInvestigate);
    await detected(2);
    for (const stage of ['remediate', 'recover', 'learn'] as const) await handle.signal(advanceSignal, { stage, by: 'test' });
    await eventually(async () => postmortems.length === 1, 60_000, 'the postmortem being written (held)');
    await handle.signal(alertSignal, duringPostmortem);
    await detected(3);
    releasePostmortem();

    const result = (await handle.result()) as IncidentResult;
    expect(result.outcome).toBe('completed');
    expect(result.detection.map((a) => a.code)).toEqual(['test:opening', 'test:after-investigate', 'test:during-postmortem']);
    expect(postmortems[0]!.map((a) => a.code)).toEqual(['test:opening', 'test:after-investigate']);
    expect(postmortems.at(-1)!.map((a) => a.code)).toEqual(['test:opening', 'test:after-investigate', 'test:during-postmortem']);

    // The evidence file holds what investigate saw; the postmortem holds every alert and says which came later.
    const inEvidence = (JSON.parse(fs.readFileSync(evidence!.evidenceFile, 'utf8')) as { detection: IncidentAlert[] }).detection.map((a) => a.code);
    expect(inEvidence).toEqual(['test:opening']);
    const md = fs.readFileSync(result.postmortem!, 'utf8');
    const line = (code: string) => md.split('\n').find((l) => l.includes(`\`${code}\``));
    expect(line('test:opening')).toBe(`- ${opening.raisedAt} — \`test:opening\` (critical): test:opening is failing`);
    for (const late of [afterInvestigate, duringPostmortem]) {
      expect(line(late.code)).toBe(`- ${late.raisedAt} — \`${late.code}\` (critical): ${late.code} is failing _(joined after investigate: not in evidence.json)_`);
    }
  });
});
