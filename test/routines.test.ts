// weeklyRoutine, monthlyRoutine, accessReview and alertsDigest as workflows on the dev server:
// reports written and returned, findings turned into alerts, the digests sent to the webhook.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openOpsDb } from '../src/db/ops-db';
import { takeSnapshot } from '../src/db/snapshot';
import { atlasPaths } from '../src/paths';
import type { RoutineResult } from '../workflows/monitoring';
import { useAtlas } from './helpers/atlas';

const t = useAtlas({ webhook: true, worker: true });

const run = <T>(type: string, input: unknown = {}) =>
  t.client.workflow.execute(type, { taskQueue: t.config.taskQueue, workflowId: `${type}-${t.id}-${Math.random().toString(36).slice(2, 7)}`, args: [input] }) as Promise<T>;

describe('routines', () => {
  it('weeklyRoutine writes its four reports and sends the info summary', async () => {
    const paths = atlasPaths(t.home);
    await takeSnapshot({ source: paths.atlasDb, backupsDir: paths.backupsDir, reason: 'test' });
    const ops = openOpsDb(paths.opsDb);
    ops.prepare("INSERT INTO alerts (code, level, message, raised_at, last_seen_at) VALUES ('usage', 'info', 'usage statistics: 120 tasks', ?, ?)").run(new Date().toISOString(), new Date().toISOString());
    ops.close();
    const r = await run<RoutineResult>('weeklyRoutine');
    expect(r.outcome).toBe('completed');
    expect(r.reports.map((x) => x.name)).toEqual(['stale-approvals', 'error-trends', 'backup-restore-test', 'health-summary']);
    for (const x of r.reports) expect(fs.existsSync(x.files.markdown) && fs.existsSync(x.files.json)).toBe(true);
    expect(r.reports[2]!.summary).toMatch(/^passed: atlas_/);
    expect(r.digest).toEqual({ alerts: 1, delivered: true });
    const summary = t.hook.received.find((m) => m.body.atlas.code === 'digest:info')!;
    expect(summary.body.text).toContain('usage statistics: 120 tasks');
    expect(summary.body.text).toMatch(/▸ backup-restore-test: passed: atlas_/);
    expect(summary.body.text).toMatch(/▸ health-summary: /);
  });

  it('monthlyRoutine runs the DR test, performance, security, capacity and access; security findings are a critical alert', async () => {
    const r = await run<RoutineResult>('monthlyRoutine', { since: '30d' });
    expect(r.reports.map((x) => x.name)).toEqual(['dr-test', 'performance', 'security', 'capacity', 'access']);
    // Procedure durations come from Temporal's visibility: the runs of the first test are there.
    const perf = JSON.parse(fs.readFileSync(r.reports.find((x) => x.name === 'performance')!.files.json, 'utf8'));
    expect(perf.data.visibility).toMatch(/^[1-9]\d* closed workflows$/);
    expect(perf.data.procedureMs.weeklyRoutine).toMatchObject({ count: 1 });
    const security = r.reports.find((x) => x.name === 'security')!;
    // No schedules were applied in this test home: the audit says so.
    expect(security.findings.some((f) => /schedule .*missing/.test(f))).toBe(true);
    const ops = openOpsDb(atlasPaths(t.home).opsDb);
    try {
      expect(ops.prepare("SELECT level FROM alerts WHERE code = 'report:security' AND resolved_at IS NULL").pluck().get()).toBe('critical');
    } finally {
      ops.close();
    }
    expect(t.hook.received.some((m) => m.body.atlas.code === 'report:security' && m.body.atlas.level === 'critical')).toBe(true);
    await expect(run('monthlyRoutine', { since: 'last month' })).rejects.toMatchObject({ cause: { type: 'InvalidInput' } });
  });

  it('accessReview reports a world-readable file in the home as a finding and an alert, resolved once fixed', async () => {
    const paths = atlasPaths(t.home);
    // The harness creates the test home's databases (and the weekly test its backup) 0644: closed to others first.
    for (const dir of [paths.dataDir, paths.backupsDir]) for (const f of fs.readdirSync(dir)) fs.chmodSync(path.join(dir, f), 0o600);
    const clean = await run<RoutineResult>('accessReview');
    expect(clean.reports.map((x) => x.name)).toEqual(['access']);
    expect(clean.reports[0]!.findings).toEqual([]);
    const exposed = path.join(paths.configDir, 'exposed.json');
    fs.writeFileSync(exposed, '{}');
    fs.chmodSync(exposed, 0o644);
    const a = await run<RoutineResult>('accessReview');
    const finding = `${exposed} is world-readable (0644)`;
    expect(a.reports[0]!.findings).toEqual([finding]);
    expect(JSON.parse(fs.readFileSync(a.reports[0]!.files.json, 'utf8')).findings).toContain(finding);
    const alert = () => {
      const ops = openOpsDb(paths.opsDb);
      try {
        return ops.prepare("SELECT level, message, resolved_at FROM alerts WHERE code = 'report:access' ORDER BY id DESC LIMIT 1").get() as { level: string; message: string; resolved_at: string | null } | undefined;
      } finally {
        ops.close();
      }
    };
    expect(alert()).toMatchObject({ level: 'info', resolved_at: null, message: expect.stringContaining(finding) });
    fs.chmodSync(exposed, 0o600);
    const fixed = await run<RoutineResult>('accessReview');
    expect(fixed.reports[0]!.findings).toEqual([]);
    expect(alert()).toMatchObject({ resolved_at: expect.any(String) });
  });

  it('the daily digest', async () => {
    const ops = openOpsDb(atlasPaths(t.home).opsDb);
    ops.prepare("INSERT INTO alerts (code, level, message, raised_at, last_seen_at) VALUES ('w1', 'warning', 'approvals pending > 24 h: 3', ?, ?)").run(new Date().toISOString(), new Date().toISOString());
    ops.close();
    const d = await run<{ alerts: { code: string }[]; delivered: boolean }>('alertsDigest');
    expect(d.delivered).toBe(true);
    expect(d.alerts.map((x) => x.code)).toContain('w1');
    expect(t.hook.received.find((m) => m.body.atlas.code === 'digest:warning')!.body.text).toContain('approvals pending > 24 h: 3');
  });
});
