// The reports by name: `atlas-ops report <name>`, the weekly and monthly routines, accessReview.
import { accessReview } from './access';
import { backupRestoreTest, drTest } from './restore-tests';
import { capacityForecast } from './capacity';
import { errorSummary, errorTrends } from './error-trends';
import { healthSummary } from './health-summary';
import { performanceReport } from './performance';
import { securityAudit } from './security';
import { staleApprovals } from './stale-approvals';
import { writeReport, type Report, type ReportContext, type WrittenReport } from './report';

export const REPORTS = {
  'stale-approvals': { doc: 'approvals pending over 7 days', build: staleApprovals },
  'error-trends': { doc: 'errors per source, this week against last', build: errorTrends },
  errors: { doc: 'errors of the last 24 h', build: errorSummary },
  'backup-restore-test': { doc: 'restore the newest backup into a temp folder and compare', build: backupRestoreTest },
  'dr-test': { doc: 'restore into a scratch home and time the recovery', build: drTest },
  performance: { doc: 'latency percentiles, sync and procedure durations', build: performanceReport },
  security: { doc: 'modes, listeners, key age, schedules', build: securityAudit },
  capacity: { doc: 'disk growth and days until 80 % and 95 %', build: capacityForecast },
  access: { doc: 'who can reach what', build: accessReview },
  'health-summary': { doc: 'health metrics over the week', build: healthSummary },
} as const satisfies Record<string, { doc: string; build: (ctx: ReportContext) => Report | Promise<Report> }>;

export type ReportName = keyof typeof REPORTS;
export const REPORT_NAMES = Object.keys(REPORTS) as ReportName[];

export function reportName(value: string, field = 'report'): ReportName {
  if (!(value in REPORTS)) throw new Error(`${field}: "${value}" is not a report (one of ${REPORT_NAMES.join(', ')})`);
  return value as ReportName;
}

/** Builds and writes one report. */
export async function runReport(name: ReportName, ctx: ReportContext): Promise<WrittenReport & { data: Record<string, unknown> }> {
  const report = await REPORTS[name].build(ctx);
  return { ...writeReport(ctx.paths.reportsDir, report), data: report.data };
}
