// Incidents opened by alerts, on the real dev server: the health check hands each critical alert
// unresolved for alerts.incidentAfter to the incident singleton (signalWithStart), which holds it as
// detection evidence; a second alert joins the same run, concurrent checks open one; resolved,
// warning, fresh alerts and an incident's own open nothing. Investigate's evidence file holds the
// journal excerpts (journalctl stand-in on PATH, bounded) and the involved procedure's history summary.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WorkflowNotFoundError } from '@temporalio/client';
import { Alerts, type AlertLevel } from '../src/alerts';
import { openOpsDb } from '../src/db/ops-db';
import { atlasUnits, JOURNAL_LINES, type JournalExcerpt } from '../src/incident/journal';
import type { ProcedureHistory } from '../src/incident/procedure-history';
import { atlasPaths } from '../src/paths';
import { singletonId } from '../src/temporal/start';
import type { IncidentAlert } from '../src/workflow-safe/incident-stages';
import { INCIDENT } from '../src/workflow-safe/singletons';
import { advanceSignal, type IncidentResult } from '../workflows/incident';
import { abortSignal, statusQuery } from '../workflows/lib/procedure';
import type { HealthCheckOutcome } from '../workflows/monitoring';
import { alertsDueForIncident } from '../src/incident/due-alerts';
import { startAtlas, useAtlas, type Atlas } from './helpers/atlas';
import { eventually, uid } from './helpers/env';

const MIN = 60_000;

const t = useAtlas({
  worker: true,
  async beforeTeardown(a) {
    await a.client.workflow.getHandle(singletonId(a.config, INCIDENT)).terminate('test over').catch(() => undefined);
  },
});

const incidentId = () => singletonId(t.config, INCIDENT);

/** An alert as if first raised `ageMs` ago (resolved at once when asked) in `home`; returns its row id. */
async function seedAlert(code: string, level: AlertLevel, ageMs: number, resolved = false, home = t.home): Promise<number> {
  const paths = atlasPaths(home);
  const ops = openOpsDb(paths.opsDb);
  try {
    const alerts = new Alerts(ops, paths.log('alerts'), undefined, () => new Date(Date.now() - ageMs));
    const { id } = await alerts.raise({ code, level, message: `${code} seeded ${ageMs / MIN} min ago` });
    if (resolved) await alerts.resolve(code, 'fixed by hand');
    return id;
  } finally {
    ops.close();
  }
}

const check = (a: Atlas = t) =>
  a.client.workflow.execute('healthCheck', { taskQueue: a.config.taskQueue, workflowId: `health-${uid()}`, args: [{ deep: false }] }) as Promise<HealthCheckOutcome>;

async function detection(): Promise<IncidentAlert[]> {
  return (await t.client.workflow.getHandle(incidentId()).query(statusQuery)).facts.detection as IncidentAlert[];
}

async function abortIncident(): Promise<void> {
  const handle = t.client.workflow.getHandle(incidentId());
  await handle.signal(abortSignal, { by: 'test', note: 'test over' });
  expect(((await handle.result()) as IncidentResult).outcome).toBe('aborted');
}

describe('incidents opened by alerts', () => {
  it('a resolved critical, a warning, a fresh critical and an incident\'s own alert open nothing', async () => {
    expect(t.config.alerts.incidentAfter).toBe(15 * MIN);
    await seedAlert('test:resolved', 'critical', 60 * MIN, true);
    await seedAlert('test:warning', 'warning', 60 * MIN);
    await seedAlert('test:fresh', 'critical', 5 * MIN);
    await seedAlert('incident:some-earlier-incident', 'critical', 60 * MIN);
    const r = await check();
    expect(r.incident).toEqual({ alerts: [] });
    await expect(t.client.workflow.getHandle(incidentId()).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  });

  it('alerts.incidentAfter off: a critical alert long past the time opens no incident, the check says so, and the alert stays due', async () => {
    const off = await startAtlas({ worker: true, overrides: { 'alerts.incidentAfter': 'off' } });
    try {
      expect(off.config.alerts.incidentAfter).toBe('off');
      const id = await seedAlert('test:off', 'critical', 120 * MIN, false, off.home);
      const r = await check(off);
      expect(r.incident).toEqual({ alerts: [], off: 'alerts.incidentAfter is off: alerts open no incident' });
      await expect(off.client.workflow.getHandle(singletonId(off.config, INCIDENT)).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
      // Not recorded as handed over: with the switch on again, the next check hands it to an incident.
      const ops = openOpsDb(atlasPaths(off.home).opsDb);
      try {
        expect(alertsDueForIncident(ops, new Date(), 15 * MIN).map((a) => a.id)).toEqual([id]);
      } finally {
        ops.close();
      }
    } finally {
      await off.cleanup();
    }
  });

  it('a critical alert older than alerts.incidentAfter opens the incident as its evidence; a second joins it; concurrent checks open one', async () => {
    const first = await seedAlert('test:first', 'critical', 20 * MIN);
    const opened = await check();
    expect(opened.incident.workflowId).toBe(incidentId());
    expect(opened.incident.alerts.map((a) => a.code)).toEqual(['test:first']);
    const runId = opened.incident.alerts[0]!.runId;
    expect((await t.client.workflow.getHandle(incidentId()).describe()).type).toBe('incidentResponse');
    await eventually(async () => (await detection().catch(() => [])).length === 1, 60_000, 'the alert is the detection evidence');
    const [evidence] = await detection();
    expect(evidence).toMatchObject({ id: first, code: 'test:first', level: 'critical', message: 'test:first seeded 20 min ago' });
    expect(Date.now() - Date.parse(evidence!.raisedAt)).toBeGreaterThanOrEqual(20 * MIN);

    // Handed over once: the next check leaves it alone.
    expect((await check()).incident.alerts).toEqual([]);

    await seedAlert('test:second', 'critical', 16 * MIN);
    const joined = await check();
    expect(joined.incident.alerts.map((a) => [a.code, a.runId])).toEqual([['test:second', runId]]);
    await eventually(async () => (await detection()).length === 2, 60_000, 'the second alert joined');
    expect((await detection()).map((a) => a.code)).toEqual(['test:first', 'test:second']);

    // Two checks at once, one due alert: one run, the alert in it once.
    await seedAlert('test:third', 'critical', 30 * MIN);
    const both = await Promise.all([check(), check()]);
    for (const r of both) for (const a of r.incident.alerts) expect(a.runId).toBe(runId);
    expect(both.flatMap((r) => r.incident.alerts.map((a) => a.code))).toContain('test:third');
    await eventually(async () => (await detection()).length === 3, 60_000, 'the third alert joined');
    expect((await detection()).map((a) => a.code)).toEqual(['test:first', 'test:second', 'test:third']);
    expect((await t.client.workflow.getHandle(incidentId()).describe()).runId).toBe(runId);
    await abortIncident();
  });

  it('investigate writes the evidence file (0640): the detection, bounded journal excerpts of the atlas units, the involved procedure\'s history summary', async () => {
    // A journalctl that prints more than the bound, then its arguments (the newest line).
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-journalctl-'));
    fs.writeFileSync(path.join(bin, 'journalctl'), '#!/bin/sh\ni=1\nwhile [ $i -le 300 ]; do printf "journal line %03d\\n" $i; i=$((i+1)); done\necho "stand-in journalctl $*"\n', { mode: 0o755 });
    const savedPath = process.env.PATH;
    process.env.PATH = `${bin}:${savedPath}`;
    try {
      // The procedure involved: a real backup, named by the alert's code as a failed step would be.
      const backupId = `backup-${uid()}`;
      await t.client.workflow.execute('backup', { taskQueue: t.config.taskQueue, workflowId: backupId, args: [{}] });
      await seedAlert(`procedure-step-failed:${backupId}`, 'critical', 20 * MIN);
      const opened = await check();
      expect(opened.incident.alerts.map((a) => a.code)).toEqual([`procedure-step-failed:${backupId}`]);
      const handle = t.client.workflow.getHandle(incidentId());
      for (const stage of ['assess', 'contain', 'investigate'] as const) await handle.signal(advanceSignal, { stage, note: `to ${stage}`, by: 'test' });
      const ev = await eventually(async () => (await handle.query(statusQuery)).facts.evidence as IncidentResult['evidence'], 60_000, 'the evidence');

      expect(fs.statSync(ev.evidenceFile).mode & 0o777).toBe(0o640);
      const file = JSON.parse(fs.readFileSync(ev.evidenceFile, 'utf8')) as { detection: IncidentAlert[]; journal: JournalExcerpt[]; procedures: ProcedureHistory[] };
      expect(file.detection.map((a) => a.code)).toEqual([`procedure-step-failed:${backupId}`]);

      const units = atlasUnits(t.config);
      expect(units).toEqual(['atlas-agent.service', 'atlas-ops-worker.service']);
      expect(file.journal.map((j) => j.unit)).toEqual(units);
      for (const j of file.journal) {
        expect(j.text).toContain(`stand-in journalctl --unit ${j.unit} --since @`);
        expect(j.text).toContain('journal line 300');
        expect(j.text).not.toContain('journal line 001');
        expect(j.lines).toBe(JOURNAL_LINES);
        expect(j.text.split('\n')).toHaveLength(JOURNAL_LINES);
        expect(j.truncated).toBe(true);
      }

      const backup = file.procedures.find((p) => p.workflowId === backupId);
      expect(backup, JSON.stringify(file.procedures.map((p) => p.workflowId))).toBeDefined();
      expect(backup).toMatchObject({ type: 'backup', status: 'COMPLETED' });
      expect(backup!.lines[0]).toMatch(/^20\S+ started backup$/);
      expect(backup!.lines.some((l) => / activity snapshotAtlasDb$/.test(l))).toBe(true);
      expect(backup!.lines.at(-1)).toMatch(/ completed$/);
      expect(ev.procedures).toContain(backupId);
      expect(file.procedures.map((p) => p.workflowId)).not.toContain(incidentId());
      // Names, times and states only: no payload (the backup's file name travels in its activities' results).
      const text = fs.readFileSync(ev.evidenceFile, 'utf8');
      expect(text).not.toMatch(/atlas_\d{8}-\d{6}\.db/);
      expect(text).not.toContain('payloads');
    } finally {
      process.env.PATH = savedPath;
      fs.rmSync(bin, { recursive: true, force: true });
    }
    await abortIncident();
  });
});
