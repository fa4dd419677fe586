// Export (atlas.db → sheet) and import (sheet decisions → atlas.db), independent of Temporal so the
// activities, the CLI's dry runs and the benchmark share one implementation.
//
// docs/safety.md#sheet-decisions-exactly-once: a decision typed in the sheet is applied exactly once or reported.
// - Rows are matched by approval_id, never by position: people sort and delete rows.
// - Export writes only columns A–F (and appends rows for pending approvals missing from the sheet),
//   so a decision typed before an export survives it.
// - Import applies every decision in ONE transaction, each as `UPDATE … WHERE id = ? AND status =
//   'pending'`: a second import (or a retry after a killed worker) changes nothing, and a decision
//   on an approval that is no longer pending is reported in its row's sync_note instead.
// - sync_notes are written after the commit; a run killed in between writes them on its retry.
// docs/safety.md#raw-cells: every write is RAW (SheetsApi.write).
import { createHash } from 'node:crypto';
import { openDatabase, withDatabase } from '../db/sqlite';
import { columnLetters } from '../sheets-emulator/a1';
import { SheetsError, type Row, type SheetsApi } from './client';
import { failure } from '../workflow-safe/failures';
import {
  ACCEPTED_DECISIONS,
  APPROVAL_HEADER,
  COL,
  EXPORT_COLUMNS,
  STATUS_LABELS,
  STATUS_ROWS,
  TAB,
  TABS,
  TASK_HEADER,
  fitCell,
  headerProblem,
  parseDecision,
  type Decision,
} from './layout';

const APPROVALS_RANGE = `${TAB.approvals}!A:J`;
const TASKS_RANGE = `${TAB.tasks}!A:F`;
const STATUS_RANGE = `${TAB.status}!A1:C4`;
/** How many change descriptions a result carries (dry runs print them). */
const SAMPLE = 20;

const isParseRangeError = (err: unknown) => err instanceof SheetsError && err.type === failure.SheetsBadRequest.type && /Unable to parse range/i.test(err.message);

const trimRow = (row: string[]) => {
  const out = [...row];
  while (out.length && out[out.length - 1] === '') out.pop();
  return out;
};

const sameRow = (a: readonly string[], b: readonly string[]) => {
  const x = trimRow([...a]);
  const y = trimRow([...b]);
  return x.length === y.length && x.every((v, i) => v === y[i]);
};

/** Consecutive sheet rows (1-based numbers) written as one range each: few ranges, one request. */
function rowRanges(tab: string, firstCol: number, lastCol: number, rows: Map<number, string[]>): { range: string; values: string[][] }[] {
  const numbers = [...rows.keys()].sort((a, b) => a - b);
  const out: { range: string; values: string[][] }[] = [];
  for (let i = 0; i < numbers.length; ) {
    let j = i;
    while (j + 1 < numbers.length && numbers[j + 1] === numbers[j]! + 1) j++;
    out.push({
      range: `${tab}!${columnLetters(firstCol)}${numbers[i]}:${columnLetters(lastCol)}${numbers[j]}`,
      values: numbers.slice(i, j + 1).map((n) => rows.get(n)!),
    });
    i = j + 1;
  }
  return out;
}

function layoutError(problem: string): SheetsError {
  return new SheetsError(failure.SheetsLayoutError.type, problem);
}

export interface ExportOptions {
  full?: boolean;
  dryRun?: boolean;
  now: Date;
}

export interface ExportResult {
  direction: 'export';
  dryRun: boolean;
  full: boolean;
  rowsRead: number;
  /** Approval rows written (added + updated). */
  rowsWritten: number;
  added: number;
  updated: number;
  tasksRewritten: boolean;
  tabsCreated: string[];
  cellsWritten: number;
  requests: number;
  /** Approval ids in the sheet that atlas.db does not know (left alone; import notes them). */
  unknownIds: number;
  changes: string[];
}

interface ApprovalRecord {
  id: string;
  task_id: string;
  agent: string | null;
  summary: string;
  requested_at: string;
  status: string;
}

function exportedRow(a: ApprovalRecord): string[] {
  return [a.id, a.task_id, a.agent ?? '', fitCell(a.summary), a.requested_at, a.status];
}

/** Reads the three tabs, creating missing ones unless this is a dry run. */
async function readForExport(api: SheetsApi, dryRun: boolean): Promise<{ tabs: [Row[], Row[], Row[]]; created: string[] }> {
  try {
    const [a, t, s] = await api.read([APPROVALS_RANGE, TASKS_RANGE, STATUS_RANGE]);
    return { tabs: [a ?? [], t ?? [], s ?? []], created: [] };
  } catch (err) {
    if (!isParseRangeError(err)) throw err;
  }
  const have = await api.tabs();
  const missing = TABS.filter((t) => !have.includes(t));
  if (dryRun) {
    // Nothing is created in a dry run: read what exists, treat the rest as empty.
    const present = [APPROVALS_RANGE, TASKS_RANGE, STATUS_RANGE].filter((_, i) => have.includes(TABS[i]!));
    const got = present.length ? await api.read(present) : [];
    const byTab = TABS.map((t) => (have.includes(t) ? got[present.findIndex((r) => r.startsWith(`${t}!`))] ?? [] : []));
    return { tabs: byTab as [Row[], Row[], Row[]], created: missing };
  }
  await api.addTabs(missing);
  const [a, t, s] = await api.read([APPROVALS_RANGE, TASKS_RANGE, STATUS_RANGE]);
  return { tabs: [a ?? [], t ?? [], s ?? []], created: missing };
}

function statusWrites(current: Row[], row: number, values: string[], banner: string | undefined): { range: string; values: string[][] }[] {
  const out: { range: string; values: string[][] }[] = [];
  if ((current[STATUS_ROWS.title]?.[0] ?? '') !== STATUS_LABELS[0]) out.push({ range: `${TAB.status}!A1`, values: [[STATUS_LABELS[0]]] });
  out.push({ range: `${TAB.status}!A${row + 1}:C${row + 1}`, values: [[STATUS_LABELS[row]!, ...values]] });
  if (banner !== undefined) out.push({ range: `${TAB.status}!A${STATUS_ROWS.banner + 1}:B${STATUS_ROWS.banner + 1}`, values: [[STATUS_LABELS[STATUS_ROWS.banner], banner]] });
  return out;
}

export async function exportApprovals(api: SheetsApi, atlasDb: string, options: ExportOptions): Promise<ExportResult> {
  const dryRun = options.dryRun ?? false;
  const full = options.full ?? false;
  const { tabs, created } = await readForExport(api, dryRun);
  const [sheetRows, taskRows, statusRows] = tabs;
  const problem = headerProblem(TAB.approvals, sheetRows[0], APPROVAL_HEADER);
  if (problem) throw layoutError(problem);
  const taskProblem = headerProblem(TAB.tasks, taskRows[0], TASK_HEADER);
  if (taskProblem) throw layoutError(taskProblem);

  const { approvals, openTasks } = withDatabase(atlasDb, { readonly: true }, (db) => ({
    approvals: db
      .prepare('SELECT a.id, a.task_id, t.agent, a.summary, a.requested_at, a.status FROM approvals a LEFT JOIN tasks t ON t.id = a.task_id ORDER BY a.requested_at, a.id')
      .all() as ApprovalRecord[],
    openTasks: (
      db.prepare("SELECT id, title, agent, status, created_at, updated_at FROM tasks WHERE status NOT IN ('completed','failed') ORDER BY created_at, id").raw().all() as string[][]
    ).map((r) => r.map((c, i) => (i === 1 ? fitCell(String(c ?? '')) : String(c ?? '')))),
  }));
  const byId = new Map(approvals.map((a) => [a.id, a]));

  const result: ExportResult = {
    direction: 'export', dryRun, full, rowsRead: Math.max(0, sheetRows.length - 1), rowsWritten: 0, added: 0, updated: 0,
    tasksRewritten: false, tabsCreated: created, cellsWritten: 0, requests: 0, unknownIds: 0, changes: [],
  };
  const note = (s: string) => {
    if (result.changes.length < SAMPLE) result.changes.push(s);
  };
  const writes: { range: string; values: string[][] }[] = [];
  if (sheetRows.length === 0) {
    writes.push({ range: `${TAB.approvals}!A1:J1`, values: [[...APPROVAL_HEADER]] });
    note('write the Approvals header row');
  }

  // Rows already in the sheet: bring atlas-owned cells up to date, wherever a person moved the row.
  const inSheet = new Set<string>();
  const updates = new Map<number, string[]>();
  for (let r = 1; r < sheetRows.length; r++) {
    const id = (sheetRows[r]![COL.id] ?? '').trim();
    if (!id) continue;
    inSheet.add(id);
    const a = byId.get(id);
    if (!a) {
      result.unknownIds++;
      continue;
    }
    const want = exportedRow(a);
    const have = sheetRows[r]!.slice(0, EXPORT_COLUMNS);
    while (have.length < EXPORT_COLUMNS) have.push('');
    if (full || !sameRow(have, want)) {
      updates.set(r + 1, want);
      note(`row ${r + 1}: update ${id}${have[COL.status] !== want[COL.status] ? ` (status ${have[COL.status] || '-'} → ${want[COL.status]})` : ''}`);
    }
  }
  // Pending approvals missing from the sheet (new, or their row was deleted): append below the last used row.
  const additions = new Map<number, string[]>();
  let next = Math.max(sheetRows.length, 1) + 1;
  for (const a of approvals) {
    if (a.status !== 'pending' || inSheet.has(a.id)) continue;
    additions.set(next, exportedRow(a));
    note(`row ${next}: add ${a.id}`);
    next++;
  }
  writes.push(...rowRanges(TAB.approvals, 0, EXPORT_COLUMNS - 1, updates), ...rowRanges(TAB.approvals, 0, EXPORT_COLUMNS - 1, additions));
  result.updated = updates.size;
  result.added = additions.size;
  result.rowsWritten = updates.size + additions.size;

  // Tasks: a read-only dashboard, rewritten whole when it differs (rows beyond the new end blanked).
  const wantTasks = [[...TASK_HEADER], ...openTasks];
  const tasksDiffer = full || wantTasks.length !== taskRows.length || wantTasks.some((row, i) => !sameRow(row, taskRows[i] ?? []));
  if (tasksDiffer) {
    const blank = TASK_HEADER.map(() => '');
    const rows = [...wantTasks, ...Array.from({ length: Math.max(0, taskRows.length - wantTasks.length) }, () => blank)];
    writes.push({ range: `${TAB.tasks}!A1:F${rows.length}`, values: rows });
    result.tasksRewritten = true;
    note(`Tasks: ${openTasks.length} open tasks`);
  }

  // Status: only when something else changes or a banner must go, so a quiet run writes nothing.
  const bannerShown = statusRows[STATUS_ROWS.banner]?.[1] ?? '';
  if (writes.length || bannerShown) {
    writes.push(...statusWrites(statusRows, STATUS_ROWS.lastExport, [options.now.toISOString(), `${result.rowsWritten} rows written`], bannerShown ? '' : undefined));
  }
  if (!dryRun) result.cellsWritten = await api.write(writes);
  result.requests = api.requests;
  return result;
}

export interface ImportOptions {
  dryRun?: boolean;
  /** Compare every row with atlas.db even when the sheet is unchanged since the last import. */
  forceCheck?: boolean;
  now: Date;
  /** Fingerprint of the Approvals tab after the previous import (ops.db keeps it). */
  lastFingerprint?: string;
}

export interface RowReport {
  row: number;
  id: string;
  reason: string;
}

export interface ImportResult {
  direction: 'import';
  dryRun: boolean;
  rowsRead: number;
  /** Rows holding a decision. */
  decisions: number;
  applied: { id: string; status: Decision; row: number }[];
  alreadyApplied: number;
  /** Decisions not applied (invalid, unknown id, approval no longer pending, conflicting rows). */
  notApplied: RowReport[];
  notesWritten: number;
  transactionMs: number;
  requests: number;
  /** True when the sheet had not changed since the last import and no check was forced. */
  unchanged: boolean;
  fingerprint: string;
}

const fingerprint = (rows: Row[]) => createHash('sha256').update(JSON.stringify(rows.map(trimRow))).digest('hex');

async function readForImport(api: SheetsApi): Promise<{ approvals: Row[]; status?: Row[] }> {
  try {
    const [a, s] = await api.read([APPROVALS_RANGE, STATUS_RANGE]);
    return { approvals: a ?? [], status: s ?? [] };
  } catch (err) {
    if (!isParseRangeError(err)) throw err;
  }
  const have = await api.tabs();
  if (!have.includes(TAB.approvals)) {
    throw new SheetsError(failure.SheetsTabMissing.type, `the spreadsheet ${api.spreadsheetId} has no "${TAB.approvals}" tab, so there is nothing to import. Run \`atlas-ops sync export\` to create it (it never overwrites decisions).`);
  }
  const [a] = await api.read([APPROVALS_RANGE]);
  return { approvals: a ?? [] };
}

interface Candidate {
  id: string;
  decision: Decision;
  row: number;
  by: string;
  note: string;
}

const appliedNote = (status: string, at: string) => `applied: ${status} at ${at}`;

export async function importDecisions(api: SheetsApi, atlasDb: string, options: ImportOptions): Promise<ImportResult> {
  const dryRun = options.dryRun ?? false;
  const { approvals: rows, status } = await readForImport(api);
  const problem = headerProblem(TAB.approvals, rows[0], APPROVAL_HEADER);
  if (problem) throw layoutError(problem);
  const print = fingerprint(rows);
  const result: ImportResult = {
    direction: 'import', dryRun, rowsRead: Math.max(0, rows.length - 1), decisions: 0, applied: [], alreadyApplied: 0,
    notApplied: [], notesWritten: 0, transactionMs: 0, requests: 0, unchanged: false, fingerprint: print,
  };
  if (!options.forceCheck && options.lastFingerprint === print) {
    result.unchanged = true;
    result.requests = api.requests;
    return result;
  }

  const desiredNotes = new Map<number, string>();
  const byId = new Map<string, Candidate[]>();
  for (let r = 1; r < rows.length; r++) {
    const row = rows[r]!;
    const typed = (row[COL.decision] ?? '').trim();
    if (!typed) continue;
    result.decisions++;
    const id = (row[COL.id] ?? '').trim();
    const decision = parseDecision(typed);
    const reason = !id
      ? 'not applied: this row has no approval_id'
      : !decision
        ? `not applied: "${typed.slice(0, 40)}" is not a decision (type one of ${ACCEPTED_DECISIONS.join(', ')})`
        : undefined;
    if (reason) {
      desiredNotes.set(r + 1, reason);
      result.notApplied.push({ row: r + 1, id, reason });
      continue;
    }
    const list = byId.get(id) ?? [];
    list.push({ id, decision: decision!, row: r + 1, by: (row[COL.decidedBy] ?? '').trim(), note: (row[COL.note] ?? '').trim() });
    byId.set(id, list);
  }
  const candidates: Candidate[] = [];
  for (const [id, list] of byId) {
    if (new Set(list.map((c) => c.decision)).size > 1) {
      const reason = `not applied: rows ${list.map((c) => c.row).join(', ')} hold different decisions for ${id}; keep one`;
      for (const c of list) {
        desiredNotes.set(c.row, reason);
        result.notApplied.push({ row: c.row, id, reason });
      }
      continue;
    }
    candidates.push(list[0]!);
    // Copies of the row that agree get the same note as the first.
  }

  const db = openDatabase(atlasDb, { readonly: dryRun, wal: !dryRun });
  const outcome = new Map<string, { note: string; applied?: Decision } | { reason: string }>();
  try {
    const lookup = db.prepare('SELECT status, decided_at FROM approvals WHERE id = ?');
    const settle = (c: Candidate) => {
      const cur = lookup.get(c.id) as { status: string; decided_at: string | null } | undefined;
      if (!cur) return { reason: `not applied: approval ${c.id} is not in atlas.db` };
      if (cur.status === c.decision) {
        result.alreadyApplied++;
        return { note: appliedNote(cur.status, cur.decided_at ?? '?') };
      }
      return { reason: `not applied: approval is already ${cur.status}${cur.decided_at ? ` (since ${cur.decided_at})` : ''}` };
    };
    const at = options.now.toISOString();
    const started = performance.now();
    if (dryRun) {
      for (const c of candidates) {
        const cur = lookup.get(c.id) as { status: string } | undefined;
        outcome.set(c.id, cur?.status === 'pending' ? { note: appliedNote(c.decision, at), applied: c.decision } : settle(c));
      }
    } else {
      const apply = db.prepare("UPDATE approvals SET status = ?, decided_at = ?, decided_by = ?, note = ? WHERE id = ? AND status = 'pending'");
      // One transaction for the whole run: all decisions land, or none (and the retry applies them).
      db.transaction(() => {
        for (const c of candidates) {
          const changed = apply.run(c.decision, at, c.by || 'sheet', c.note || null, c.id).changes;
          outcome.set(c.id, changed ? { note: appliedNote(c.decision, at), applied: c.decision } : settle(c));
        }
      }).immediate();
    }
    result.transactionMs = performance.now() - started;
  } finally {
    db.close();
  }
  for (const c of candidates) {
    const o = outcome.get(c.id)!;
    for (const copy of byId.get(c.id)!) {
      if ('reason' in o) {
        desiredNotes.set(copy.row, o.reason);
        result.notApplied.push({ row: copy.row, id: c.id, reason: o.reason });
      } else desiredNotes.set(copy.row, o.note);
    }
    if ('applied' in o && o.applied) result.applied.push({ id: c.id, status: o.applied, row: c.row });
  }

  const noteWrites = new Map<number, string[]>();
  for (const [row, note] of desiredNotes) {
    if ((rows[row - 1]![COL.syncNote] ?? '') !== note) noteWrites.set(row, [fitCell(note)]);
  }
  result.notesWritten = noteWrites.size;
  const writes = rowRanges(TAB.approvals, COL.syncNote, COL.syncNote, noteWrites);
  if (status && (writes.length || result.applied.length || (status[STATUS_ROWS.banner]?.[1] ?? ''))) {
    writes.push(...statusWrites(status, STATUS_ROWS.lastImport, [options.now.toISOString(), `${result.applied.length} decisions applied`], (status[STATUS_ROWS.banner]?.[1] ?? '') ? '' : undefined));
  }
  if (!dryRun) {
    await api.write(writes);
    // The fingerprint of the tab as it now is, so an unchanged sheet costs one read next time.
    for (const [row, [note]] of noteWrites) {
      const r = rows[row - 1]!;
      while (r.length <= COL.syncNote) r.push('');
      r[COL.syncNote] = note!;
    }
    result.fingerprint = fingerprint(rows);
  }
  result.requests = api.requests;
  return result;
}

/** Writes (or clears) the Status tab's banner: one request. */
export async function setBanner(api: SheetsApi, banner: string): Promise<void> {
  await api.write([{ range: `${TAB.status}!A${STATUS_ROWS.banner + 1}:B${STATUS_ROWS.banner + 1}`, values: [[STATUS_LABELS[STATUS_ROWS.banner], banner]] }]);
}
