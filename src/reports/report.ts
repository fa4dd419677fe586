// What every report shares: its inputs, its shape, and how it lands in <home>/reports/ as
// Markdown + JSON (+ SVG charts). Reports read; they never change atlas.db.
import fs from 'node:fs';
import path from 'node:path';
import { MODE } from '../file-modes';
import type { Client } from '@temporalio/client';
import type { AtlasConfig } from '../config';
import type { AtlasPaths } from '../paths';
import type { Db } from '../db/sqlite';
import { withDatabase } from '../db/sqlite';
import { parseDuration } from '../workflow-safe/duration';
import { stamp } from '../workflow-safe/stamp';

export interface ReportContext {
  config: AtlasConfig;
  paths: AtlasPaths;
  ops: Db;
  now: Date;
  /** Start of the period the report covers; each report has its own default. */
  since?: Date;
  /** For reports that read Temporal (schedules, visibility); absent → those parts say so. */
  client?: Client;
}

export interface Chart {
  /** Short name, part of the file name. */
  name: string;
  title: string;
  svg: string;
}

export interface Report {
  name: string;
  title: string;
  generatedAt: string;
  since?: string;
  /** One line for the workflow result, the digest and the CLI. */
  summary: string;
  /** Findings that need the operator (security audit, failed restore test). */
  findings: string[];
  data: Record<string, unknown>;
  /** Markdown body (without the title). */
  markdown: string[];
  charts: Chart[];
}

export interface WrittenReport {
  name: string;
  summary: string;
  findings: string[];
  files: { markdown: string; json: string; charts: string[] };
}

/** Writes the report; file names carry the generation time so a history accumulates. */
export function writeReport(reportsDir: string, report: Report): WrittenReport {
  fs.mkdirSync(reportsDir, { recursive: true });
  const base = path.join(reportsDir, `${report.name}-${stamp(Date.parse(report.generatedAt))}`);
  const charts = report.charts.map((c) => {
    const file = `${base}-${c.name}.svg`;
    fs.writeFileSync(file, c.svg, { mode: MODE.file });
    return file;
  });
  const md = [
    `# ${report.title}`,
    '',
    `Generated ${report.generatedAt}${report.since ? `, covering since ${report.since}` : ''}.`,
    '',
    `**Summary:** ${report.summary}`,
    '',
    ...(report.findings.length ? ['## Findings', '', ...report.findings.map((f) => `- ${f}`), ''] : []),
    ...report.markdown,
    '',
    ...charts.map((file, i) => `![${report.charts[i]!.title}](${path.basename(file)})`),
    '',
  ].join('\n');
  fs.writeFileSync(`${base}.md`, md, { mode: MODE.file });
  const { markdown: _md, charts: _charts, ...json } = report;
  fs.writeFileSync(`${base}.json`, `${JSON.stringify({ ...json, charts: charts.map((f) => path.basename(f)) }, null, 2)}\n`, { mode: MODE.file });
  return { name: report.name, summary: report.summary, findings: report.findings, files: { markdown: `${base}.md`, json: `${base}.json`, charts } };
}

/** `--since`: a duration back from now ("7d", "12h") or a date/time ("2026-11-01"). */
export function parseSince(value: string, now: Date, field = '--since'): Date {
  const text = value.trim();
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+Z?)?$/.test(text)) {
    const d = new Date(text.length === 10 ? `${text}T00:00:00Z` : text);
    if (!Number.isNaN(d.getTime())) {
      if (d.getTime() > now.getTime()) throw new Error(`${field}: "${value}" is in the future`);
      return d;
    }
  }
  let ms: number;
  try {
    ms = parseDuration(text, field);
  } catch {
    throw new Error(`${field}: "${value}" is neither a duration (e.g. 7d, 12h) nor a date (YYYY-MM-DD)`);
  }
  // A duration longer than the time since 1970 is no point in time a report can start from (and
  // past about 274 000 years not even a Date).
  if (ms > now.getTime()) throw new Error(`${field}: "${value}" reaches back before 1970-01-01; give a duration up to ${Math.floor(now.getTime() / 86_400_000)}d or a date from 1970-01-01 to today`);
  return new Date(now.getTime() - ms);
}

/** Opens atlas.db read-only for a report; a missing database is reported, not invented. */
export function withAtlasDb<T>(ctx: ReportContext, fn: (db: Db) => T): T {
  return withDatabase(ctx.paths.atlasDb, { readonly: true }, fn);
}

export const DAY_MS = 86_400_000;
export const isoOf = (ms: number) => new Date(ms).toISOString();

export function mdTable(head: string[], rows: (string | number)[][]): string[] {
  if (!rows.length) return ['_(none)_'];
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`)];
}
