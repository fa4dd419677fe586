// The health check end to end on the real dev server: metrics, samples in ops.db, logs/health.log,
// alerts raised once and resolved once, the webhook, a remediation started, `atlas-ops health`.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openOpsDb } from '../src/db/ops-db';
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
      const run = ops.prepare("INSERT INTO sync_runs (direction, started_at, finished_at, outcome) VALUES ('export', ?, ?, ?)");
      for (let i = 0; i < 8; i++) run.run(iso(2 * 3_600_000 - i * 60_000), iso(2 * 3_600_000 - i * 60_000 - 1000), 'failed');
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
        for (let i = 0; i < 900; i++) run.run(iso(i * 1000 + 5000), iso(i * 1000), 'ok');
      })();
      const good = await check();
      expect(good.resolved).toEqual(expect.arrayContaining(['health:sync_success_percent', 'health:sync_offline_minutes']));
      const settled = await check();
      expect(settled.resolved).toEqual([]);
      // Runs skipped during maintenance are neither successes nor failures.
      const before = settled.metrics.find((m) => m.metric === 'sync_success_percent')!.value;
      for (let i = 0; i < 20; i++) run.run(iso(i * 1000), iso(i * 1000), 'skipped');
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
    ).rejects.toMatchObject({ cause: { type: 'InvalidInput', message: expect.stringContaining('verbose: unknown field (known: deep, hostQueue)') } });
  });
});
