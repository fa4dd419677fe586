// Weekly: errors this week against last week, per source (error-trend-analysis.py --last-week),
// and the daily error summary (error-summary.py --last-24h).
import { barChart } from './svg';
import { DAY_MS, mdTable, withAtlasDb, type Report, type ReportContext } from './report';

export type Direction = 'rising' | 'falling' | 'flat';

export function direction(now: number, before: number): Direction {
  return now > before ? 'rising' : now < before ? 'falling' : 'flat';
}

export function errorTrends(ctx: ReportContext): Report {
  const end = ctx.now.getTime();
  const period = ctx.since ? Math.max(DAY_MS / 24, end - ctx.since.getTime()) : 7 * DAY_MS;
  const rows = withAtlasDb(ctx, (db) =>
    db
      .prepare(`SELECT source, sum(at >= :mid) AS current, sum(at < :mid) AS previous FROM errors WHERE at >= :start AND at < :end GROUP BY source ORDER BY source`)
      .all({ start: new Date(end - 2 * period).toISOString(), mid: new Date(end - period).toISOString(), end: ctx.now.toISOString() }) as { source: string; current: number; previous: number }[],
  );
  const total = { current: rows.reduce((a, r) => a + r.current, 0), previous: rows.reduce((a, r) => a + r.previous, 0) };
  const overall = direction(total.current, total.previous);
  const bySource = rows.map((r) => ({ ...r, direction: direction(r.current, r.previous) }));
  const days = Math.round((period / DAY_MS) * 10) / 10;
  return {
    name: 'error-trends',
    title: 'Error trends',
    generatedAt: ctx.now.toISOString(),
    since: new Date(end - period).toISOString(),
    summary: `errors ${overall}: ${total.current} in the last ${days} days against ${total.previous} in the ${days} days before`,
    findings: bySource.filter((r) => r.direction === 'rising').map((r) => `errors from ${r.source} rising: ${r.previous} → ${r.current}`),
    data: { periodDays: days, total, direction: overall, bySource },
    markdown: [`Errors per source, the last ${days} days against the ${days} days before.`, '', ...mdTable(['source', 'previous', 'current', 'trend'], bySource.map((r) => [r.source, r.previous, r.current, r.direction]))],
    charts: [{
      name: 'by-source',
      title: `Errors per source: previous vs current ${days} days`,
      svg: barChart({ title: `Errors per source: previous vs current ${days} days`, categories: bySource.map((r) => r.source), series: [{ name: 'previous', values: bySource.map((r) => r.previous) }, { name: 'current', values: bySource.map((r) => r.current) }] }),
    }],
  };
}

export function errorSummary(ctx: ReportContext): Report {
  const since = ctx.since ?? new Date(ctx.now.getTime() - DAY_MS);
  const { rows, unresolved } = withAtlasDb(ctx, (db) => ({
    rows: db.prepare('SELECT source, level, count(*) AS n, sum(resolved_at IS NULL) AS open FROM errors WHERE at >= ? GROUP BY source, level ORDER BY n DESC').all(since.toISOString()) as { source: string; level: string; n: number; open: number }[],
    unresolved: db.prepare('SELECT id, at, source, level, message FROM errors WHERE at >= ? AND resolved_at IS NULL ORDER BY at DESC LIMIT 20').all(since.toISOString()) as { id: number; at: string; source: string; level: string; message: string }[],
  }));
  const total = rows.reduce((a, r) => a + r.n, 0);
  const open = rows.reduce((a, r) => a + r.open, 0);
  return {
    name: 'errors',
    title: 'Error summary',
    generatedAt: ctx.now.toISOString(),
    since: since.toISOString(),
    summary: `${total} errors since ${since.toISOString()}, ${open} unresolved`,
    findings: [],
    data: { total, unresolved: open, bySourceLevel: rows, latestUnresolved: unresolved },
    markdown: ['## By source and level', '', ...mdTable(['source', 'level', 'errors', 'unresolved'], rows.map((r) => [r.source, r.level, r.n, r.open])), '', '## Latest unresolved', '', ...mdTable(['id', 'at', 'source', 'level', 'message'], unresolved.map((r) => [r.id, r.at, r.source, r.level, r.message]))],
    charts: [],
  };
}
