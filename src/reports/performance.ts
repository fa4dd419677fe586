// Monthly performance report (performance-report.py --last-month): database latency percentiles
// from the health samples, sync durations from ops.db, procedure durations from Temporal's visibility.
import { lineChart } from './svg';
import { DAY_MS, mdTable, type Report, type ReportContext } from './report';

export function percentile(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

function stats(values: number[]) {
  const s = [...values].sort((a, b) => a - b);
  return { count: s.length, p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99), max: s.at(-1) ?? null };
}

type Stats = ReturnType<typeof stats>;
const row = (name: string, s: Stats) => [name, s.count, s.p50 ?? '-', s.p95 ?? '-', s.p99 ?? '-', s.max ?? '-'];

export async function performanceReport(ctx: ReportContext): Promise<Report> {
  const since = ctx.since ?? new Date(ctx.now.getTime() - 30 * DAY_MS);
  const samples = ctx.ops
    .prepare("SELECT at, value FROM health_samples WHERE metric = 'db_response_ms' AND value IS NOT NULL AND at >= ? ORDER BY at")
    .all(since.toISOString()) as { at: string; value: number }[];
  const db = stats(samples.map((s) => s.value));
  const syncRows = ctx.ops
    .prepare('SELECT direction, (julianday(finished_at) - julianday(started_at)) * 86400000 AS ms FROM sync_runs WHERE started_at >= ? AND finished_at IS NOT NULL')
    .all(since.toISOString()) as { direction: string; ms: number }[];
  const sync = Object.fromEntries(['export', 'import'].map((d) => [d, stats(syncRows.filter((r) => r.direction === d).map((r) => Math.round(r.ms)))]));
  const procedures: Record<string, Stats> = {};
  let visibility = 'not read (no Temporal client)';
  if (ctx.client) {
    const byType: Record<string, number[]> = {};
    try {
      const query = `TaskQueue = '${ctx.config.taskQueue}' AND CloseTime >= '${since.toISOString()}'`;
      for await (const wf of ctx.client.workflow.list({ query })) {
        if (!wf.closeTime) continue;
        (byType[wf.type] ??= []).push(wf.closeTime.getTime() - wf.startTime.getTime());
      }
      for (const [type, ms] of Object.entries(byType)) procedures[type] = stats(ms);
      visibility = `${Object.values(byType).reduce((a, b) => a + b.length, 0)} closed workflows`;
    } catch (err) {
      visibility = `visibility query failed: ${(err as Error).message}`;
    }
  }
  const slow = db.p95 !== null && db.p95 > ctx.config.thresholds.dbResponseMs;
  return {
    name: 'performance',
    title: 'Performance report',
    generatedAt: ctx.now.toISOString(),
    since: since.toISOString(),
    summary: db.count ? `database p50 ${db.p50} ms, p95 ${db.p95} ms over ${db.count} samples; ${visibility}` : `no database latency samples since ${since.toISOString().slice(0, 10)}; ${visibility}`,
    findings: slow ? [`database p95 ${db.p95} ms is above the ${ctx.config.thresholds.dbResponseMs} ms threshold`] : [],
    data: { databaseMs: db, syncMs: sync, procedureMs: procedures, visibility },
    markdown: [
      '## Latency and durations (ms)', '',
      ...mdTable(['what', 'count', 'p50', 'p95', 'p99', 'max'], [row('database probe', db), ...Object.entries(sync).map(([d, s]) => row(`sync ${d}`, s)), ...Object.entries(procedures).map(([t, s]) => row(`procedure ${t}`, s))]),
      '', `Procedures: ${visibility}.`,
    ],
    charts: samples.length ? [{
      name: 'db-latency',
      title: 'Database response time',
      svg: lineChart({ title: 'Database response time', unit: ' ms', series: [{ name: 'db probe', points: samples.map((s) => ({ x: Date.parse(s.at), y: s.value })) }], lines: [{ label: 'threshold', y: ctx.config.thresholds.dbResponseMs }] }),
    }] : [],
  };
}
