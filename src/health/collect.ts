// The health check's measurements (the runbook's "Key Metrics to Monitor", docs/procedures.md#health-check):
// system, application and business metrics, each compared with its threshold as the runbook writes
// it: "<80%" is strict (`strict`), "Sync offline >1 hour" alerts only beyond the hour. Pure reads: the
// caller records the samples and raises the alerts.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { replicaConfigured, type AtlasConfig } from '../config';
import { replicationStatus, type ReplicationStatus } from '../replication/status';
import type { AlertLevel } from '../alerts';
import type { AtlasPaths } from '../paths';
import { listBackups } from '../db/snapshot';
import { integrityProblems, openDatabase, type Db } from '../db/sqlite';
import { syncOffline } from '../sheets/runs';

export type Remediation = 'diskEmergency' | 'corruption' | 'syncOffline';

export interface HealthMetric {
  metric: string;
  label: string;
  group: 'system' | 'application' | 'business';
  /** null: nothing to measure yet (no syncs, no backups, …). */
  value: number | null;
  unit: string;
  threshold?: number;
  /** 'max': the value must stay at or below the threshold; 'min': at or above. */
  bound?: 'max' | 'min';
  /**
   * The runbook's own comparison ("Disk usage: <80%", "Sync success rate: >99%"): the value must be
   * strictly below ('max') or above ('min'); exactly the threshold is not ok.
   */
  strict?: boolean;
  /** null when there is no threshold or no value. */
  ok: boolean | null;
  /** Level of the alert while not ok. */
  level?: AlertLevel;
  remediation?: Remediation;
  details?: string;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

export function diskUsagePercent(dir: string): { percent: number; freeBytes: number; totalBytes: number } {
  const s = fs.statfsSync(dir);
  const used = (s.blocks - s.bfree) * s.bsize;
  const avail = s.bavail * s.bsize;
  // As df computes it: used over what non-root users could have.
  return { percent: round((used / (used + avail)) * 100, 1), freeBytes: avail, totalBytes: s.blocks * s.bsize };
}

export function memoryUsagePercent(): number {
  try {
    const info = fs.readFileSync('/proc/meminfo', 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(info)?.[1]);
    const total = kb('MemTotal');
    const available = kb('MemAvailable');
    if (total && Number.isFinite(available)) return round((1 - available / total) * 100, 1);
  } catch {
    /* not Linux: fall back to what Node knows */
  }
  return round((1 - os.freemem() / os.totalmem()) * 100, 1);
}

/** Can this host open a TCP connection to the endpoint's host and port within the timeout? */
export function probeEndpoint(url: string, timeoutMs: number): Promise<{ ok: boolean; ms: number; error?: string }> {
  const u = new URL(url);
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = net.connect({ host: u.hostname.replace(/^\[|\]$/g, ''), port });
    const done = (ok: boolean, error?: string) => {
      socket.destroy();
      resolve({ ok, ms: round(performance.now() - started), error });
    };
    socket.setTimeout(timeoutMs, () => done(false, `no answer within ${timeoutMs} ms`));
    socket.once('connect', () => done(true));
    socket.once('error', (err) => done(false, err.message));
  });
}

function check(m: Omit<HealthMetric, 'ok'>): HealthMetric {
  if (m.value === null || m.threshold === undefined || !m.bound) return { ...m, ok: null };
  const ok = m.bound === 'max' ? (m.strict ? m.value < m.threshold : m.value <= m.threshold) : m.strict ? m.value > m.threshold : m.value >= m.threshold;
  return { ...m, ok };
}

/** How a metric must compare with its threshold to be ok, as the table and the alerts print it. */
export function boundSymbol(m: Pick<HealthMetric, 'bound' | 'strict'>): string {
  if (m.bound === 'max') return m.strict ? '<' : '≤';
  return m.strict ? '>' : '≥';
}

export interface CollectOptions {
  config: AtlasConfig;
  paths: AtlasPaths;
  ops: Db;
  now: Date;
  /**
   * The daily deep check: PRAGMA quick_check and the business metrics. Both read whole tables
   * (seconds on a million tasks), and both are daily figures, so the 15-minute check leaves them out.
   */
  deep: boolean;
}

export async function collectHealth(o: CollectOptions): Promise<HealthMetric[]> {
  const { config, paths, ops } = o;
  const t = config.thresholds;
  const now = o.now.getTime();
  const iso = (ms: number) => new Date(ms).toISOString();
  const out: HealthMetric[] = [];
  const probe = probeEndpoint(config.sheets.rootUrl, config.monitoring.probeTimeout);

  // System
  const disk = diskUsagePercent(paths.home);
  const diskCritical = disk.percent > t.diskCriticalPercent;
  out.push(check({
    metric: 'disk_percent', label: 'Disk usage', group: 'system', value: disk.percent, unit: '%', threshold: t.diskPercent, bound: 'max', strict: true,
    level: diskCritical ? 'critical' : 'warning', remediation: diskCritical ? 'diskEmergency' : undefined,
    details: `${Math.round(disk.freeBytes / 1e6)} MB free of ${Math.round(disk.totalBytes / 1e6)} MB`,
  }));
  out.push(check({ metric: 'memory_percent', label: 'Memory usage', group: 'system', value: memoryUsagePercent(), unit: '%', threshold: t.memoryPercent, bound: 'max', strict: true, level: 'warning' }));
  out.push(check({ metric: 'load15', label: 'Load (15 min)', group: 'system', value: round(os.loadavg()[2]!), unit: '', threshold: t.load15, bound: 'max', strict: true, level: 'warning' }));
  const reach = await probe;
  out.push(check({
    metric: 'network_percent', label: 'Sheets endpoint reachable', group: 'system', value: reach.ok ? 100 : 0, unit: '%', threshold: 100, bound: 'min', level: 'warning',
    details: reach.ok ? `${new URL(config.sheets.rootUrl).host} in ${reach.ms} ms` : `${new URL(config.sheets.rootUrl).host}: ${reach.error}`,
  }));

  // Application: sync health from ops.db (written by the sync workflows). Skipped runs (during
  // maintenance) are neither successes nor failures.
  const sync = ops
    .prepare("SELECT sum(outcome = 'ok') AS ok, sum(outcome = 'failed') AS failed FROM sync_runs WHERE started_at >= ?")
    .get(iso(now - DAY)) as { ok: number | null; failed: number | null };
  const attempted = (sync.ok ?? 0) + (sync.failed ?? 0);
  out.push(check({
    metric: 'sync_success_percent', label: 'Sync success (24 h)', group: 'application', value: attempted ? round(((sync.ok ?? 0) / attempted) * 100, 1) : null, unit: '%',
    threshold: t.syncSuccessPercent, bound: 'min', strict: true, level: 'warning', details: `${sync.ok ?? 0}/${attempted} runs`,
  }));
  // Offline: auth or connectivity failures since the last success, for longer than the threshold
  // (the same rule as the outage detector, src/sheets/runs.ts).
  const { lastOk, failingSince } = syncOffline(ops);
  const anyRun = lastOk !== null || attempted > 0 || failingSince !== null;
  out.push(check({
    metric: 'sync_offline_minutes', label: 'Sync failing for', group: 'application', value: anyRun ? (failingSince ? round((now - Date.parse(failingSince)) / 60_000, 1) : 0) : null, unit: 'min',
    threshold: config.thresholds.syncOffline / 60_000, bound: 'max', level: 'critical', remediation: 'syncOffline',
    details: failingSince ? `auth or connectivity failures since ${failingSince}${lastOk ? `, last success ${lastOk}` : ', no success yet'}` : lastOk ? `last success ${lastOk}` : 'no auth or connectivity failure',
  }));

  // Application and business: atlas.db
  let db: Db | undefined;
  try {
    db = openDatabase(paths.atlasDb, { readonly: true });
  } catch (err) {
    out.push({ metric: 'db_open', label: 'Database opens', group: 'application', value: 0, unit: '', ok: false, level: 'critical', remediation: 'corruption', details: (err as Error).message });
  }
  if (db) {
    try {
      out.push(...atlasMetrics(db, o, now));
    } catch (err) {
      out.push({ metric: 'db_open', label: 'Database readable', group: 'application', value: 0, unit: '', ok: false, level: 'critical', remediation: 'corruption', details: (err as Error).message });
    } finally {
      db.close();
    }
  }

  if (replicaConfigured(config)) out.push(...(await replicationMetrics(config, paths, o.now)));

  // Newest verified backup (written by the backup workflow)
  const newest = listBackups(paths.backupsDir).find((b) => b.verified);
  const ageH = newest?.manifest ? round((now - Date.parse(newest.manifest.createdAt)) / HOUR, 1) : null;
  out.push(check({
    metric: 'backup_age_hours', label: 'Newest verified backup age', group: 'application', value: ageH, unit: 'h', threshold: t.backupAgeHours, bound: 'max', level: 'warning',
    details: newest ? newest.name : 'no verified backup',
  }));
  // No verified backup at all is a finding too, not just "no data".
  if (!newest) out[out.length - 1] = { ...out[out.length - 1]!, ok: false };
  return out;
}

/**
 * The continuous replica (docs/safety.md#continuous-replica): Litestream alive (its control socket
 * answers) and the replication lag, warning above thresholds.replicationLag, critical above
 * thresholds.replicationLagCritical.
 */
async function replicationMetrics(config: AtlasConfig, paths: AtlasPaths, now: Date): Promise<HealthMetric[]> {
  let s: ReplicationStatus;
  try {
    s = await replicationStatus(config, paths, now);
  } catch (err) {
    return [{ metric: 'replicator_alive', label: 'Replicator (Litestream) alive', group: 'application', value: 0, unit: '', threshold: 1, bound: 'min', ok: false, level: 'critical', details: (err as Error).message }];
  }
  const t = config.thresholds;
  const lag = s.lagSeconds ?? null;
  return [
    check({
      metric: 'replicator_alive', label: 'Replicator (Litestream) alive', group: 'application', value: s.replicatorAlive ? 1 : 0, unit: '', threshold: 1, bound: 'min', level: 'critical',
      details: `${s.state}; ${s.replicaUrl}`,
    }),
    check({
      metric: 'replication_lag_seconds', label: 'Replication lag', group: 'application', value: lag, unit: 's', threshold: t.replicationLag / 1000, bound: 'max',
      level: lag !== null && lag * 1000 > t.replicationLagCritical ? 'critical' : 'warning',
      details: `replica TXID ${s.replicaTxid ?? '-'} / local ${s.localTxid ?? '-'}${s.replicaError ? `; replica unreachable: ${s.replicaError}` : ''}; critical above ${t.replicationLagCritical / 1000} s`,
    }),
  ];
}

function atlasMetrics(db: Db, o: CollectOptions, now: number): HealthMetric[] {
  const t = o.config.thresholds;
  const iso = (ms: number) => new Date(ms).toISOString();
  const out: HealthMetric[] = [];

  // Timed probe queries: the kind of reads the sync and the app do.
  const probes = [
    () => db.prepare("SELECT count(*) FROM approvals WHERE status = 'pending'").pluck().get(),
    () => db.prepare('SELECT * FROM tasks WHERE id = ?').get('T-000001'),
    () => db.prepare('SELECT count(*) FROM errors WHERE at >= ?').pluck().get(iso(now - 3_600_000)),
  ];
  const times = probes.map((q) => {
    const t0 = performance.now();
    q();
    return performance.now() - t0;
  });
  out.push(check({ metric: 'db_response_ms', label: 'Database response', group: 'application', value: round(times.reduce((a, b) => a + b, 0) / times.length, 3), unit: 'ms', threshold: t.dbResponseMs, bound: 'max', strict: true, level: 'warning' }));

  const journal = String(db.pragma('journal_mode', { simple: true }));
  out.push({ metric: 'wal_on', label: 'WAL mode', group: 'application', value: journal === 'wal' ? 1 : 0, unit: '', threshold: 1, bound: 'min', ok: journal === 'wal', level: 'warning', details: `journal_mode=${journal}` });

  if (o.deep) {
    const problems = integrityProblems(db, 'quick_check');
    out.push({
      metric: 'db_quick_check', label: 'quick_check', group: 'application', value: problems.length ? 0 : 1, unit: '', threshold: 1, bound: 'min', ok: problems.length === 0,
      level: 'critical', remediation: 'corruption', details: problems.length ? problems.slice(0, 3).join('; ') : 'ok',
    });
  }

  // Approvals: one pass over the table.
  const pendingCut = iso(now - t.pendingApprovalHours * 3_600_000);
  const a = db
    .prepare(
      `SELECT sum(status = 'pending' AND requested_at < :cut) AS stale,
              avg(CASE WHEN decided_at >= :week THEN (julianday(decided_at) - julianday(requested_at)) * 24 END) AS avgHours
         FROM approvals`,
    )
    .get({ cut: pendingCut, week: iso(now - 7 * DAY) }) as { stale: number | null; avgHours: number | null };
  out.push(check({ metric: 'approvals_pending_over_24h', label: `Approvals pending > ${t.pendingApprovalHours} h`, group: 'application', value: a.stale ?? 0, unit: '', threshold: 0, bound: 'max', level: 'warning' }));
  out.push(check({ metric: 'approval_response_hours', label: 'Approval response (7 d avg)', group: 'application', value: a.avgHours === null ? null : round(a.avgHours), unit: 'h', threshold: t.approvalResponseHours, bound: 'max', strict: true, level: 'warning' }));

  // Errors raised between 8 and 1 days ago: a day has passed for each, so "resolved within 24 h" is decided.
  const e = db
    .prepare(
      `SELECT count(*) AS n, sum(resolved_at IS NOT NULL AND julianday(resolved_at) - julianday(at) <= 1) AS inDay
         FROM errors WHERE at >= ? AND at < ?`,
    )
    .get(iso(now - 8 * DAY), iso(now - DAY)) as { n: number; inDay: number | null };
  out.push(check({ metric: 'error_resolution_percent', label: 'Errors resolved within 24 h', group: 'application', value: e.n ? round(((e.inDay ?? 0) / e.n) * 100, 1) : null, unit: '%', threshold: t.errorResolutionPercent, bound: 'min', strict: true, level: 'warning', details: `${e.inDay ?? 0}/${e.n}` }));

  if (!o.deep) return out;
  // Business: one pass over the tasks touched in the last two weeks (updated_at is never before
  // created_at or completed_at, so the filter loses none that count).
  const k = db
    .prepare(
      `SELECT sum(status = 'completed' AND completed_at >= :day) AS doneDay,
              sum(created_at >= :week) AS createdWeek,
              sum(status = 'completed' AND completed_at >= :week) AS doneWeek,
              sum(status = 'failed' AND updated_at >= :week) AS failedWeek,
              sum(status = 'completed' AND completed_at >= :prev AND completed_at < :week) AS donePrev,
              sum(status = 'failed' AND updated_at >= :prev AND updated_at < :week) AS failedPrev
         FROM tasks WHERE updated_at >= :prev`,
    )
    .get({ day: iso(now - DAY), week: iso(now - 7 * DAY), prev: iso(now - 14 * DAY) }) as Record<string, number | null>;
  const n = (x: number | null | undefined) => x ?? 0;
  const requested = db.prepare('SELECT count(*) FROM approvals WHERE requested_at >= ?').pluck().get(iso(now - 7 * DAY)) as number;
  out.push(check({ metric: 'tasks_completed_per_day', label: 'Tasks completed (24 h)', group: 'business', value: n(k.doneDay), unit: '' }));
  out.push(check({
    metric: 'human_intervention_percent', label: 'Human intervention (7 d)', group: 'business', value: n(k.createdWeek) ? round((requested / n(k.createdWeek)) * 100, 1) : null, unit: '%',
    details: `${requested} approvals for ${n(k.createdWeek)} new tasks`,
  }));
  const eff = (done: number, failed: number) => (done + failed ? (done / (done + failed)) * 100 : null);
  const effNow = eff(n(k.doneWeek), n(k.failedWeek));
  const effPrev = eff(n(k.donePrev), n(k.failedPrev));
  out.push(check({
    metric: 'agent_efficiency_trend', label: 'Agent success rate, week on week', group: 'business', value: effNow !== null && effPrev !== null ? round(effNow - effPrev, 1) : null, unit: 'pp',
    details: `${effNow === null ? '–' : round(effNow, 1)} % this week, ${effPrev === null ? '–' : round(effPrev, 1)} % the week before`,
  }));
  const p = db.prepare('SELECT count(*) AS n, count(adopted_at) AS adopted FROM patterns').get() as { n: number; adopted: number };
  out.push(check({ metric: 'pattern_adoption_percent', label: 'Learning patterns adopted', group: 'business', value: p.n ? round((p.adopted / p.n) * 100, 1) : null, unit: '%', details: `${p.adopted}/${p.n}` }));
  return out;
}

/** Fixed-width table for `atlas-ops health --verbose` and the log. */
export function healthTable(metrics: HealthMetric[]): string {
  const rows = metrics.map((m) => [
    m.ok === false ? (m.level === 'critical' ? 'CRIT' : 'WARN') : m.ok ? 'ok' : '-',
    m.group,
    m.label,
    m.value === null ? 'n/a' : `${m.value}${m.unit && m.unit !== '' ? ` ${m.unit}` : ''}`,
    m.threshold === undefined ? '' : `${boundSymbol(m)} ${m.threshold}`,
    m.details ?? '',
  ]);
  const head = ['', 'group', 'metric', 'value', 'threshold', 'details'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
