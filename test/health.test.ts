// The health check end to end on the real dev server: metrics, samples in ops.db, logs/health.log,
// alerts raised once and resolved once, the webhook, a remediation started, `atlas-ops health`.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config';
import { migrateAtlas } from '../src/db/atlas-schema';
import { openOpsDb } from '../src/db/ops-db';
import { takeSnapshot } from '../src/db/snapshot';
import { openDatabase } from '../src/db/sqlite';
import { collectHealth, healthTable } from '../src/health/collect';
import { ensureHome } from '../src/home';
import { allocatePort } from '../src/ports';
import { atlasPaths } from '../src/paths';
import { singletonId } from '../src/temporal/start';
import type { HealthCheckOutcome } from '../workflows/monitoring';
import { useAtlas } from './helpers/atlas';
import { runCli } from './helpers/env';

const t = useAtlas({
  webhook: true,
  // Stands in for the Sheets endpoint: the network probe only needs it to accept connections.
  sheetsEndpoint: (_req, res) => res.writeHead(404).end(),
  overrides: { 'remediation.syncOffline': 'remediationProbeWorkflow' },
  worker: true,
  async beforeTeardown(a) {
    await a.client.workflow.getHandle(singletonId(a.config, 'sheets-outage')).terminate('test over').catch(() => undefined);
  },
});

async function check(deep?: boolean): Promise<HealthCheckOutcome> {
  return t.client.workflow.execute('healthCheck', {
    taskQueue: t.config.taskQueue,
    workflowId: `health-${t.id}-${Math.random().toString(36).slice(2, 8)}`,
    args: [deep === undefined ? {} : { deep }],
  }) as Promise<HealthCheckOutcome>;
}

const iso = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();

describe('healthCheck', () => {
  it('measures every metric, records the samples and logs', async () => {
    const r = await check(true);
    const names = r.metrics.map((m) => m.metric);
    expect(names).toEqual(expect.arrayContaining([
      'disk_percent', 'memory_percent', 'load15', 'network_percent',
      'sync_success_percent', 'sync_offline_minutes', 'db_response_ms', 'wal_on', 'db_quick_check',
      'approvals_pending_over_24h', 'approval_response_hours', 'error_resolution_percent', 'backup_age_hours',
      'tasks_completed_per_day', 'human_intervention_percent', 'agent_efficiency_trend', 'pattern_adoption_percent',
    ]));
    const byName = Object.fromEntries(r.metrics.map((m) => [m.metric, m]));
    expect(byName.network_percent).toMatchObject({ value: 100, ok: true });
    expect(byName.wal_on).toMatchObject({ value: 1, ok: true });
    expect(byName.db_quick_check).toMatchObject({ value: 1, ok: true });
    // No sync has run and no backup exists in a fresh home: said, not invented.
    expect(byName.sync_success_percent).toMatchObject({ value: null, ok: null });
    expect(byName.backup_age_hours).toMatchObject({ value: null, ok: false, details: 'no verified backup' });
    const paths = atlasPaths(t.home);
    const ops = openOpsDb(paths.opsDb);
    try {
      const n = ops.prepare('SELECT count(*) FROM health_samples WHERE at = ?').pluck().get(r.at) as number;
      expect(n).toBe(r.metrics.length);
    } finally {
      ops.close();
    }
    const log = fs.readFileSync(paths.log('health'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(log.at(-1)).toMatchObject({ event: 'health-check', deep: true });
    // The deep part runs once a day: the next check leaves quick_check and the business metrics out.
    const regular = await check();
    expect(regular.deep).toBe(false);
    expect(regular.metrics.map((m) => m.metric)).not.toContain('db_quick_check');
    expect(regular.metrics.map((m) => m.metric)).not.toContain('tasks_completed_per_day');
  });

  it('a threshold crossed both ways is one alert and one resolution; critical sync offline starts the remediation', async () => {
    const ops = openOpsDb(atlasPaths(t.home).opsDb);
    try {
      const run = ops.prepare("INSERT INTO sync_runs (direction, started_at, finished_at, outcome, error) VALUES ('export', ?, ?, ?, ?)");
      for (let i = 0; i < 8; i++) run.run(iso(2 * 3_600_000 - i * 60_000), iso(2 * 3_600_000 - i * 60_000 - 1000), 'failed', 'SheetsUnreachable: ECONNREFUSED');
      const bad = await check();
      const failing = Object.fromEntries(bad.failing.map((f) => [f.metric, f]));
      expect(failing.sync_success_percent).toMatchObject({ level: 'warning', value: 0 });
      expect(failing.sync_offline_minutes).toMatchObject({ level: 'critical' });
      expect(bad.raised).toEqual(expect.arrayContaining(['health:sync_success_percent', 'health:sync_offline_minutes']));
      expect(bad.remediationsStarted).toEqual([expect.objectContaining({ remediation: 'syncOffline', workflowType: 'remediationProbeWorkflow', started: true })]);
      const started = await t.client.workflow.getHandle(singletonId(t.config, 'sheets-outage')).describe();
      expect(started.type).toBe('remediationProbeWorkflow');
      // The critical one went to the webhook at once; the warning waits for the digest.
      expect(t.hook.received.map((r) => `${r.body.atlas.code}:${r.body.atlas.state}`)).toEqual(['health:sync_offline_minutes:raised']);

      // Seen again: same alerts, no second remediation.
      const again = await check();
      expect(again.raised).toEqual([]);
      expect(again.remediations).toEqual([]);

      // Syncs succeed again: both resolve, once.
      ops.transaction(() => {
        for (let i = 0; i < 900; i++) run.run(iso(i * 1000 + 5000), iso(i * 1000), 'ok', null);
      })();
      const good = await check();
      expect(good.resolved).toEqual(expect.arrayContaining(['health:sync_success_percent', 'health:sync_offline_minutes']));
      const settled = await check();
      expect(settled.resolved).toEqual([]);
      // Runs skipped during maintenance are neither successes nor failures.
      const before = settled.metrics.find((m) => m.metric === 'sync_success_percent')!.value;
      for (let i = 0; i < 20; i++) run.run(iso(i * 1000), iso(i * 1000), 'skipped', 'skipped: maintenance');
      const afterSkips = await check();
      expect(afterSkips.metrics.find((m) => m.metric === 'sync_success_percent')!.value).toBe(before);
      expect(afterSkips.metrics.find((m) => m.metric === 'sync_offline_minutes')!.value).toBe(0);
      const rows = ops.prepare("SELECT code, occurrences, resolved_at FROM alerts WHERE code LIKE 'health:sync%' ORDER BY code").all() as { code: string; occurrences: number; resolved_at: string | null }[];
      expect(rows.map((r) => [r.code, r.occurrences, r.resolved_at !== null])).toEqual([
        ['health:sync_offline_minutes', 2, true],
        ['health:sync_success_percent', 2, true],
      ]);
      expect(t.hook.received.map((r) => `${r.body.atlas.code}:${r.body.atlas.state}`)).toEqual(['health:sync_offline_minutes:raised', 'health:sync_offline_minutes:resolved']);
    } finally {
      ops.close();
    }
  });

  it('atlas-ops health --verbose prints the table', async () => {
    const r = await runCli(t, ['health', '--verbose']);
    expect(r.stdout).toMatch(/group\s+metric\s+value\s+threshold/);
    expect(r.stdout).toMatch(/Disk usage/);
    expect(r.stdout).toMatch(/Newest verified backup age\s+n\/a/);
    // No verified backup in the test home: unhealthy, exit 1.
    expect(r.stdout).toMatch(/UNHEALTHY: .*backup_age_hours/);
    expect(r.code).toBe(1);
    const json = await runCli(t, ['health', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, metrics: expect.any(Array) });
  });

  it('refuses unknown input fields naming them', async () => {
    await expect(
      t.client.workflow.execute('healthCheck', { taskQueue: t.config.taskQueue, workflowId: `health-bad-${t.id}`, args: [{ verbose: true }] }),
    ).rejects.toMatchObject({ cause: { type: 'InvalidInput', message: expect.stringContaining('verbose: unknown field (known: deep, hostQueue, home)') } });
  });
});

describe('collectHealth on seeded data', () => {
  const NOW = new Date('2026-11-02T12:00:00Z');
  const H = 3_600_000;
  const at = (msAgo: number) => new Date(NOW.getTime() - msAgo).toISOString();

  /** A fresh home with an empty atlas.db and ops.db; the Sheets endpoint a port nothing listens on. */
  async function emptyHome() {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-health-'));
    const { paths } = ensureHome(home);
    const db = openDatabase(paths.atlasDb, { create: true, wal: true });
    migrateAtlas(db);
    db.close();
    const config = loadConfig({ env: { ATLAS_HOME: home }, overrides: { 'sheets.rootUrl': `http://127.0.0.1:${await allocatePort()}/` } });
    return { home, paths, ops: openOpsDb(paths.opsDb), config };
  }

  /** A fresh home whose atlas.db and ops.db hold exactly the rows each metric is computed from. */
  async function seededHome() {
    const { home, paths, ops, config } = await emptyHome();
    const db = openDatabase(paths.atlasDb);
    const task = db.prepare('INSERT INTO tasks (id, title, agent, status, created_at, updated_at, completed_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
    // This week: two completed (both in the last 24 h), one failed; the week before: one completed, two failed.
    task.run('T1', 't', 'coder', 'completed', at(48 * H), at(2 * H), at(2 * H));
    task.run('T2', 't', 'coder', 'completed', at(72 * H), at(20 * H), at(20 * H));
    task.run('T3', 't', 'coder', 'failed', at(72 * H), at(30 * H), null);
    task.run('T4', 't', 'coder', 'completed', at(240 * H), at(216 * H), at(216 * H));
    task.run('T5', 't', 'coder', 'failed', at(240 * H), at(240 * H), null);
    task.run('T6', 't', 'coder', 'failed', at(264 * H), at(264 * H), null);
    const approval = db.prepare('INSERT INTO approvals (id, task_id, summary, requested_at, status, decided_at) VALUES (?, ?, ?, ?, ?, ?)');
    approval.run('A1', 'T1', 's', at(30 * H), 'pending', null); // pending over 24 h
    approval.run('A2', 'T1', 's', at(25 * H), 'pending', null); // pending over 24 h
    approval.run('A3', 'T2', 's', at(23 * H), 'pending', null); // not yet
    approval.run('A4', 'T2', 's', at(20 * H), 'approved', at(10 * H)); // answered in 10 h
    approval.run('A5', 'T3', 's', at(5 * H), 'rejected', at(3 * H)); // answered in 2 h
    approval.run('A6', 'T4', 's', at(216 * H), 'approved', at(192 * H)); // decided 8 days ago: not in the average
    const error = db.prepare("INSERT INTO errors (at, source, level, message, resolved_at) VALUES (?, 'app', 'error', 'e', ?)");
    // Raised between 8 and 1 days ago: three resolved within 24 h, one after 30 h.
    error.run(at(48 * H), at(40 * H));
    error.run(at(72 * H), at(71 * H));
    error.run(at(100 * H), at(90 * H));
    error.run(at(120 * H), at(90 * H));
    error.run(at(12 * H), null); // too recent to decide
    error.run(at(200 * H), null); // older than 8 days
    const pattern = db.prepare('INSERT INTO patterns (id, name, created_at, adopted_at) VALUES (?, ?, ?, ?)');
    for (const [id, adopted] of [['P1', at(H)], ['P2', null], ['P3', null], ['P4', null]] as const) pattern.run(id, id, at(100 * H), adopted);
    db.close();
    await takeSnapshot({ source: paths.atlasDb, backupsDir: paths.backupsDir, reason: 'test', now: new Date(NOW.getTime() - 5 * H) });
    const run = ops.prepare("INSERT INTO sync_runs (direction, started_at, finished_at, outcome, error) VALUES ('export', ?, ?, ?, ?)");
    // In the last 24 h: three ok, then a connectivity failure 30 minutes ago (the first since the last success).
    run.run(at(20 * H), at(20 * H - 1000), 'ok', null);
    run.run(at(10 * H), at(10 * H - 1000), 'ok', null);
    run.run(at(H), at(H - 1000), 'ok', null);
    run.run(at(0.5 * H), at(0.5 * H - 1000), 'failed', 'SheetsUnreachable: ECONNREFUSED');
    run.run(at(0.4 * H), at(0.4 * H), 'skipped', 'skipped: maintenance');
    run.run(at(30 * H), at(30 * H), 'failed', 'SheetsAuthError: invalid_grant'); // older than 24 h
    return { home, paths, ops, config };
  }

  // The runbook's thresholds as it writes them: "Sync success rate: >99%", "Approval response time:
  // <4 hours average", "Error resolution rate: >90% within 24h" are strict (exactly the threshold is
  // not ok); "Sync offline >1 hour" and "Pending approvals >24h old" alert only beyond it.
  it('each seeded metric at its runbook boundary: exactly the threshold, and one step past it', async () => {
    type Seed = (db: ReturnType<typeof openDatabase>, ops: ReturnType<typeof openOpsDb>) => void;
    const cases: { metric: string; seed: Seed; value: number; ok: boolean }[] = [];
    const syncRuns = (ok: number, failed: number): Seed => (_db, ops) => {
      const run = ops.prepare("INSERT INTO sync_runs (direction, started_at, finished_at, outcome, error) VALUES ('export', ?, ?, ?, ?)");
      for (let i = 0; i < failed; i++) run.run(at(3 * H + i), at(3 * H + i), 'failed', 'SheetsUnreachable: ECONNREFUSED');
      for (let i = 0; i < ok; i++) run.run(at(2 * H - i), at(2 * H - i), 'ok', null);
    };
    cases.push({ metric: 'sync_success_percent', seed: syncRuns(99, 1), value: 99, ok: false });
    cases.push({ metric: 'sync_success_percent', seed: syncRuns(999, 1), value: 99.9, ok: true });
    const decided = (hours: number): Seed => (db) => {
      db.prepare("INSERT INTO tasks (id, title, agent, status, created_at, updated_at) VALUES ('T', 't', 'a', 'completed', ?, ?)").run(at(20 * H), at(20 * H));
      db.prepare("INSERT INTO approvals (id, task_id, summary, requested_at, status, decided_at) VALUES ('A', 'T', 's', ?, 'approved', ?)").run(at(10 * H + hours * H), at(10 * H));
    };
    cases.push({ metric: 'approval_response_hours', seed: decided(4), value: 4, ok: false });
    cases.push({ metric: 'approval_response_hours', seed: decided(3.99), value: 3.99, ok: true });
    const errors = (resolved: number, of: number): Seed => (db) => {
      const e = db.prepare("INSERT INTO errors (at, source, level, message, resolved_at) VALUES (?, 'app', 'error', 'e', ?)");
      for (let i = 0; i < of; i++) e.run(at(48 * H), i < resolved ? at(47 * H) : null);
    };
    cases.push({ metric: 'error_resolution_percent', seed: errors(9, 10), value: 90, ok: false });
    cases.push({ metric: 'error_resolution_percent', seed: errors(91, 100), value: 91, ok: true });
    const offlineFor = (ms: number): Seed => (_db, ops) => {
      ops.prepare("INSERT INTO sync_runs (direction, started_at, finished_at, outcome, error) VALUES ('export', ?, ?, 'failed', 'SheetsUnreachable: ECONNREFUSED')").run(at(ms), at(ms));
    };
    cases.push({ metric: 'sync_offline_minutes', seed: offlineFor(H), value: 60, ok: true });
    cases.push({ metric: 'sync_offline_minutes', seed: offlineFor(H + 6000), value: 60.1, ok: false });
    const pendingFor = (ms: number): Seed => (db) => {
      db.prepare("INSERT INTO tasks (id, title, agent, status, created_at, updated_at) VALUES ('T', 't', 'a', 'waiting_approval', ?, ?)").run(at(ms), at(ms));
      db.prepare("INSERT INTO approvals (id, task_id, summary, requested_at, status) VALUES ('A', 'T', 's', ?, 'pending')").run(at(ms));
    };
    cases.push({ metric: 'approvals_pending_over_24h', seed: pendingFor(24 * H), value: 0, ok: true });
    cases.push({ metric: 'approvals_pending_over_24h', seed: pendingFor(24 * H + 1000), value: 1, ok: false });
    for (const c of cases) {
      const { home, paths, ops, config } = await emptyHome();
      try {
        const db = openDatabase(paths.atlasDb);
        c.seed(db, ops);
        db.close();
        const m = (await collectHealth({ config, paths, ops, now: NOW, deep: false })).find((x) => x.metric === c.metric);
        expect({ value: m?.value, ok: m?.ok }, `${c.metric} seeded to ${c.value}`).toEqual({ value: c.value, ok: c.ok });
      } finally {
        ops.close();
        fs.rmSync(home, { recursive: true, force: true });
      }
    }
    // The table prints each comparison as the runbook writes it.
    const { home, paths, ops, config } = await emptyHome();
    try {
      const table = healthTable(await collectHealth({ config, paths, ops, now: NOW, deep: false }));
      expect(table).toMatch(/Disk usage\s+\S+ %\s+< 80/);
      expect(table).toMatch(/Memory usage\s+\S+ %\s+< 90/);
    } finally {
      ops.close();
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it('computes each metric from the seeded rows and the host, and compares it with its threshold', async () => {
    const { home, paths, ops, config } = await seededHome();
    try {
      const metrics = await collectHealth({ config, paths, ops, now: NOW, deep: true });
      const by = Object.fromEntries(metrics.map((m) => [m.metric, m]));
      expect(by.approvals_pending_over_24h).toMatchObject({ value: 2, ok: false, level: 'warning' });
      expect(by.approval_response_hours).toMatchObject({ value: 6, threshold: 4, ok: false });
      expect(by.error_resolution_percent).toMatchObject({ value: 75, threshold: 90, ok: false, details: '3/4' });
      expect(by.sync_success_percent).toMatchObject({ value: 75, threshold: 99, ok: false, details: '3/4 runs' });
      expect(by.sync_offline_minutes).toMatchObject({ value: 30, threshold: 60, ok: true, level: 'critical' });
      expect(by.backup_age_hours).toMatchObject({ value: 5, threshold: 26, ok: true });
      expect(by.tasks_completed_per_day).toMatchObject({ value: 2, ok: null });
      // 5 approvals requested this week for 3 tasks created this week.
      expect(by.human_intervention_percent).toMatchObject({ value: 166.7, details: '5 approvals for 3 new tasks' });
      // 2 of 3 this week against 1 of 3 the week before.
      expect(by.agent_efficiency_trend).toMatchObject({ value: 33.3 });
      expect(by.pattern_adoption_percent).toMatchObject({ value: 25, details: '1/4' });
      expect(by.network_percent).toMatchObject({ value: 0, ok: false });
      expect(by.wal_on).toMatchObject({ value: 1, ok: true });
      expect(by.db_quick_check).toMatchObject({ value: 1, ok: true });
      // The host's own figures, read independently: df's used and available blocks, /proc/meminfo.
      const [, , used, avail] = execFileSync('df', ['-P', '-B1', home], { encoding: 'utf8' }).trim().split('\n')[1]!.split(/\s+/).map(Number);
      expect(by.disk_percent!.value).toBeCloseTo((used! / (used! + avail!)) * 100, 0);
      const info = fs.readFileSync('/proc/meminfo', 'utf8');
      const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(info)![1]);
      expect(Math.abs(by.memory_percent!.value! - (1 - kb('MemAvailable') / kb('MemTotal')) * 100)).toBeLessThan(5);
      expect(Math.abs(by.load15!.value! - os.loadavg()[2]!)).toBeLessThan(0.5);
      expect(by.db_response_ms!.value).toBeGreaterThan(0);
    } finally {
      ops.close();
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
