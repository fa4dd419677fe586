// Weekly info summary: the system health over the week (health metrics over time), usage statistics.
import { lineChart } from './svg';
import { DAY_MS, mdTable, type Report, type ReportContext } from './report';

const CHARTED = [
  { metric: 'disk_percent', name: 'disk %' },
  { metric: 'memory_percent', name: 'memory %' },
  { metric: 'sync_success_percent', name: 'sync success %' },
];

export function healthSummary(ctx: ReportContext): Report {
  const since = ctx.since ?? new Date(ctx.now.getTime() - 7 * DAY_MS);
  const stats = ctx.ops
    .prepare('SELECT metric, count(*) AS samples, min(value) AS min, avg(value) AS avg, max(value) AS max, sum(ok = 0) AS failing FROM health_samples WHERE at >= ? GROUP BY metric ORDER BY metric')
    .all(since.toISOString()) as { metric: string; samples: number; min: number | null; avg: number | null; max: number | null; failing: number }[];
  const series = CHARTED.map((c) => ({
    name: c.name,
    points: (ctx.ops.prepare('SELECT at, value FROM health_samples WHERE metric = ? AND value IS NOT NULL AND at >= ? ORDER BY at').all(c.metric, since.toISOString()) as { at: string; value: number }[]).map((r) => ({ x: Date.parse(r.at), y: r.value })),
  })).filter((s) => s.points.length);
  const checks = ctx.ops.prepare("SELECT count(DISTINCT at) FROM health_samples WHERE at >= ? AND metric = 'disk_percent'").pluck().get(since.toISOString()) as number;
  const r2 = (n: number | null) => (n === null ? '-' : Math.round(n * 100) / 100);
  return {
    name: 'health-summary',
    title: 'Health summary',
    generatedAt: ctx.now.toISOString(),
    since: since.toISOString(),
    summary: checks ? `${checks} health checks since ${since.toISOString().slice(0, 10)}; ${stats.filter((s) => s.failing).length} metrics out of bounds at least once` : `no health check since ${since.toISOString().slice(0, 10)}`,
    findings: stats.filter((s) => s.failing).map((s) => `${s.metric} out of bounds in ${s.failing} of ${s.samples} checks`),
    data: { checks, metrics: stats },
    markdown: mdTable(['metric', 'samples', 'min', 'avg', 'max', 'out of bounds'], stats.map((s) => [s.metric, s.samples, r2(s.min), r2(s.avg), r2(s.max), s.failing])),
    charts: series.length ? [{ name: 'metrics', title: 'Health metrics over time', svg: lineChart({ title: 'Health metrics over time', unit: '', series, lines: [] }) }] : [],
  };
}
