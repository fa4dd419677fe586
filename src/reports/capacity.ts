// Monthly capacity forecast (capacity-forecast.py): disk usage fitted over the health samples,
// days until 80 % and 95 %. Too few samples is said, never papered over with a number.
import { lineChart } from './svg';
import { DAY_MS, mdTable, type Report, type ReportContext } from './report';

export const MIN_SAMPLES = 4;
export const MIN_SPAN_MS = DAY_MS;

export interface Fit {
  slopePerDay: number;
  intercept: number;
}

/** Least squares y = intercept + slope·x, x in days from the first sample. */
export function fitLine(points: { x: number; y: number }[]): Fit {
  const x0 = points[0]!.x;
  const xs = points.map((p) => (p.x - x0) / DAY_MS);
  const n = points.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  xs.forEach((x, i) => {
    sxy += (x - mx) * (points[i]!.y - my);
    sxx += (x - mx) ** 2;
  });
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { slopePerDay: slope, intercept: my - slope * mx };
}

export function capacityForecast(ctx: ReportContext): Report {
  const since = ctx.since ?? new Date(ctx.now.getTime() - 90 * DAY_MS);
  const samples = (ctx.ops
    .prepare("SELECT at, value FROM health_samples WHERE metric = 'disk_percent' AND value IS NOT NULL AND at >= ? ORDER BY at")
    .all(since.toISOString()) as { at: string; value: number }[]).map((s) => ({ x: Date.parse(s.at), y: s.value }));
  const targets = [ctx.config.thresholds.diskPercent, ctx.config.thresholds.diskCriticalPercent];
  const base = { name: 'capacity', title: 'Capacity forecast', generatedAt: ctx.now.toISOString(), since: since.toISOString() };
  const span = samples.length ? samples.at(-1)!.x - samples[0]!.x : 0;
  if (samples.length < MIN_SAMPLES || span < MIN_SPAN_MS) {
    const why = `too little history to forecast: ${samples.length} disk samples over ${Math.round((span / DAY_MS) * 10) / 10} days (need at least ${MIN_SAMPLES} over ${MIN_SPAN_MS / DAY_MS} day)`;
    return { ...base, summary: why, findings: [], data: { forecast: null, reason: why, samples: samples.length }, markdown: [why], charts: [] };
  }
  const fit = fitLine(samples);
  const x0 = samples[0]!.x;
  const nowDays = (ctx.now.getTime() - x0) / DAY_MS;
  const current = fit.intercept + fit.slopePerDay * nowDays;
  const until = targets.map((target) => {
    if (current >= target) return { target, days: 0, date: ctx.now.toISOString().slice(0, 10) };
    if (fit.slopePerDay <= 0) return { target, days: null, date: null };
    const days = (target - current) / fit.slopePerDay;
    return { target, days: Math.round(days * 10) / 10, date: new Date(ctx.now.getTime() + days * DAY_MS).toISOString().slice(0, 10) };
  });
  const growth = Math.round(fit.slopePerDay * 1000) / 1000;
  const say = (u: (typeof until)[number]) => (u.days === null ? `${u.target} %: not reached (usage is not growing)` : `${u.target} % in ${u.days} days (${u.date})`);
  const horizon = Math.min(365, Math.max(...until.map((u) => u.days ?? 30)));
  const forecast = [0, horizon].map((d) => ({ x: ctx.now.getTime() + d * DAY_MS, y: Math.round((current + fit.slopePerDay * d) * 100) / 100 }));
  return {
    ...base,
    summary: `disk ${Math.round(current * 10) / 10} % growing ${growth} %/day: ${until.map(say).join('; ')}`,
    findings: until.filter((u) => u.days !== null && u.days < 30).map((u) => `disk reaches ${u.target} % within 30 days (${u.date}): free space or grow the volume`),
    data: { samples: samples.length, spanDays: Math.round((span / DAY_MS) * 10) / 10, currentPercent: Math.round(current * 100) / 100, growthPercentPerDay: growth, until },
    markdown: [`Fitted over ${samples.length} samples since ${since.toISOString().slice(0, 10)}.`, '', ...mdTable(['threshold', 'days', 'date'], until.map((u) => [`${u.target} %`, u.days ?? 'never', u.date ?? '-']))],
    charts: [{
      name: 'disk-forecast',
      title: 'Disk usage and forecast',
      svg: lineChart({
        title: 'Disk usage and forecast',
        unit: '%',
        series: [{ name: 'disk used', points: samples }, { name: 'forecast', points: forecast, dashed: true }],
        lines: targets.map((t) => ({ label: `threshold ${t} %`, y: t })),
      }),
    }],
  };
}
