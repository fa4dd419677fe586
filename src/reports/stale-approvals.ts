// Weekly: approvals still pending after 7 days (the runbook's stale-approvals-report.py).
import { DAY_MS, isoOf, mdTable, withAtlasDb, type Report, type ReportContext } from './report';

const STALE_DAYS = 7;

export function staleApprovals(ctx: ReportContext): Report {
  const cut = ctx.since ?? new Date(ctx.now.getTime() - STALE_DAYS * DAY_MS);
  const rows = withAtlasDb(ctx, (db) =>
    db
      .prepare(
        `SELECT a.id, a.task_id, t.agent, a.summary, a.requested_at FROM approvals a LEFT JOIN tasks t ON t.id = a.task_id
          WHERE a.status = 'pending' AND a.requested_at < ? ORDER BY a.requested_at`,
      )
      .all(cut.toISOString()) as { id: string; task_id: string; agent: string | null; summary: string; requested_at: string }[],
  );
  const byAgent: Record<string, number> = {};
  for (const r of rows) byAgent[r.agent ?? '?'] = (byAgent[r.agent ?? '?'] ?? 0) + 1;
  const ageDays = (r: { requested_at: string }) => Math.floor((ctx.now.getTime() - Date.parse(r.requested_at)) / DAY_MS);
  return {
    name: 'stale-approvals',
    title: 'Stale approvals',
    generatedAt: ctx.now.toISOString(),
    since: undefined,
    summary: rows.length ? `${rows.length} approvals pending since before ${cut.toISOString().slice(0, 10)} (oldest ${ageDays(rows[0]!)} days)` : `no approval pending since before ${cut.toISOString().slice(0, 10)}`,
    findings: rows.length ? [`${rows.length} approvals have waited more than ${Math.round((ctx.now.getTime() - cut.getTime()) / DAY_MS)} days: chase the approvers or expire them`] : [],
    data: { cutoff: cut.toISOString(), count: rows.length, byAgent, oldest: rows.slice(0, 50).map((r) => ({ ...r, ageDays: ageDays(r) })) },
    markdown: [`Pending approvals requested before ${isoOf(cut.getTime())}: **${rows.length}**.`, '', '## By agent', '', ...mdTable(['agent', 'stale'], Object.entries(byAgent)), '', '## Oldest', '', ...mdTable(['approval', 'task', 'agent', 'requested', 'days', 'summary'], rows.slice(0, 50).map((r) => [r.id, r.task_id, r.agent ?? '?', r.requested_at, ageDays(r), r.summary]))],
    charts: [],
  };
}
