// Small SVG charts for the reports (line over time, grouped bars). Every plotted point carries its
// value in a data-value attribute and a <title>, so a reader (or a test) can check the numbers.

export interface LinePoint {
  /** Milliseconds since the epoch. */
  x: number;
  y: number;
}

export interface LineSeries {
  name: string;
  points: LinePoint[];
  /** Dashed (a forecast, say). */
  dashed?: boolean;
}

export interface HorizontalLine {
  label: string;
  y: number;
}

const W = 640;
const H = 300;
const PAD = { left: 56, right: 16, top: 36, bottom: 44 };
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

const fmt = (n: number) => (Math.abs(n) >= 100 ? String(Math.round(n)) : String(Math.round(n * 100) / 100));

function frame(title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

function yAxis(min: number, max: number, scaleY: (v: number) => number, unit: string): string[] {
  const out: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const v = min + ((max - min) * i) / 4;
    const y = scaleY(v).toFixed(1);
    out.push(`<line x1="${PAD.left}" y1="${y}" x2="${W - PAD.right}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${PAD.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${escapeXml(fmt(v) + unit)}</text>`);
  }
  return out;
}

function bounds(values: number[]): [number, number] {
  let min = Math.min(...values);
  let max = Math.max(...values);
  if (!Number.isFinite(min)) return [0, 1];
  if (min > 0 && min / (max || 1) > 0.5) min = min * 0.9;
  else min = Math.min(0, min);
  if (max === min) max = min + 1;
  return [min, max];
}

/** A time-series line chart; `lines` are horizontal reference lines (thresholds). */
export function lineChart(options: { title: string; series: LineSeries[]; unit?: string; lines?: HorizontalLine[] }): string {
  const unit = options.unit ?? '';
  const all = options.series.flatMap((s) => s.points);
  if (!all.length) return frame(options.title, [`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no data</text>`]);
  const xs = all.map((p) => p.x);
  const [yMin, yMax] = bounds([...all.map((p) => p.y), ...(options.lines ?? []).map((l) => l.y)]);
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs) === xMin ? xMin + 1 : Math.max(...xs);
  const sx = (x: number) => PAD.left + ((x - xMin) / (xMax - xMin)) * (W - PAD.left - PAD.right);
  const sy = (y: number) => H - PAD.bottom - ((y - yMin) / (yMax - yMin)) * (H - PAD.top - PAD.bottom);
  const body = yAxis(yMin, yMax, sy, unit);
  for (const [i, t] of [xMin, xMax].entries()) {
    body.push(`<text x="${sx(t).toFixed(1)}" y="${H - PAD.bottom + 16}" text-anchor="${i ? 'end' : 'start'}">${new Date(t).toISOString().slice(0, 16).replace('T', ' ')}</text>`);
  }
  for (const l of options.lines ?? []) {
    const y = sy(l.y).toFixed(1);
    body.push(`<line x1="${PAD.left}" y1="${y}" x2="${W - PAD.right}" y2="${y}" stroke="#999" stroke-dasharray="2,3" data-value="${l.y}"><title>${escapeXml(`${l.label}: ${fmt(l.y)}${unit}`)}</title></line>`);
    body.push(`<text x="${W - PAD.right}" y="${(Number(y) - 4).toFixed(1)}" text-anchor="end" fill="#666">${escapeXml(l.label)}</text>`);
  }
  options.series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const pts = s.points.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
    body.push(`<polyline fill="none" stroke="${colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6,4"' : ''} points="${pts}"/>`);
    for (const p of s.points) {
      body.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="2.5" fill="${colour}" data-series="${escapeXml(s.name)}" data-x="${new Date(p.x).toISOString()}" data-value="${p.y}"><title>${escapeXml(`${s.name} ${new Date(p.x).toISOString()}: ${fmt(p.y)}${unit}`)}</title></circle>`);
    }
    body.push(`<text x="${PAD.left + 8 + i * 150}" y="${H - 8}" fill="${colour}">${escapeXml(s.name)}</text>`);
  });
  return frame(options.title, body);
}

/** Grouped bar chart: one group per category, one bar per series. */
export function barChart(options: { title: string; categories: string[]; series: { name: string; values: number[] }[]; unit?: string }): string {
  const unit = options.unit ?? '';
  const values = options.series.flatMap((s) => s.values);
  if (!options.categories.length) return frame(options.title, [`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no data</text>`]);
  const yMax = Math.max(1, ...values);
  const sy = (y: number) => H - PAD.bottom - (y / yMax) * (H - PAD.top - PAD.bottom);
  const body = yAxis(0, yMax, sy, unit);
  const groupW = (W - PAD.left - PAD.right) / options.categories.length;
  const barW = (groupW * 0.8) / Math.max(1, options.series.length);
  options.categories.forEach((c, ci) => {
    const gx = PAD.left + ci * groupW + groupW * 0.1;
    options.series.forEach((s, si) => {
      const v = s.values[ci] ?? 0;
      const y = sy(v);
      body.push(`<rect x="${(gx + si * barW).toFixed(1)}" y="${y.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(H - PAD.bottom - y).toFixed(1)}" fill="${COLOURS[si % COLOURS.length]}" data-category="${escapeXml(c)}" data-series="${escapeXml(s.name)}" data-value="${v}"><title>${escapeXml(`${c}, ${s.name}: ${fmt(v)}${unit}`)}</title></rect>`);
    });
    body.push(`<text x="${(gx + groupW * 0.4).toFixed(1)}" y="${H - PAD.bottom + 14}" text-anchor="middle">${escapeXml(c)}</text>`);
  });
  options.series.forEach((s, si) => body.push(`<text x="${PAD.left + 8 + si * 150}" y="${H - 8}" fill="${COLOURS[si % COLOURS.length]}">${escapeXml(s.name)}</text>`));
  return frame(options.title, body);
}
