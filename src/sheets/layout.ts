// The approvals spreadsheet (docs/architecture.md#the-approvals-sheet): its tabs, header rows, who owns which column, and
// which decisions a person may type. Pure, so workflows, activities, the emulator and the CLI share it.

export const TAB = { approvals: 'Approvals', tasks: 'Tasks', status: 'Status' } as const;
export const TABS: readonly string[] = [TAB.approvals, TAB.tasks, TAB.status];

export const APPROVAL_HEADER = ['approval_id', 'task_id', 'agent', 'summary', 'requested_at', 'status', 'decision', 'decided_by', 'note', 'sync_note'] as const;
/** Column indexes (0-based) of the Approvals tab. */
export const COL = { id: 0, status: 5, decision: 6, decidedBy: 7, note: 8, syncNote: 9 } as const;
/** atlas-ops owns A–F (written by export) and J (sync_note, written by import); G–I belong to humans. */
export const EXPORT_COLUMNS = 6;

export const TASK_HEADER = ['task_id', 'title', 'agent', 'status', 'created_at', 'updated_at'] as const;

/** The Status tab: a label column and a value column, rows in this order. */
export const STATUS_ROWS = { title: 0, lastExport: 1, lastImport: 2, banner: 3 } as const;
export const STATUS_LABELS = ['Atlas approvals sync', 'last export that changed the sheet', 'last import that changed atlas.db or the sheet', 'banner'] as const;

/** A Sheets cell holds at most 50 000 characters; longer text is cut with a visible mark. */
export const CELL_MAX = 50_000;

/** Google refuses a request body larger than this with 400 "Request payload size exceeds the limit". */
export const REQUEST_BYTES_MAX = 10_485_760;

export type Decision = 'approved' | 'rejected';

const DECISIONS: Record<string, Decision> = {
  approve: 'approved',
  approved: 'approved',
  yes: 'approved',
  reject: 'rejected',
  rejected: 'rejected',
  no: 'rejected',
};

/** The decision a person typed, or undefined when it is not one of the accepted words. */
export function parseDecision(text: string): Decision | undefined {
  return DECISIONS[text.trim().toLowerCase()];
}

export const ACCEPTED_DECISIONS = Object.keys(DECISIONS);

export function fitCell(text: string): string {
  return text.length > CELL_MAX ? `${text.slice(0, CELL_MAX - 20)}… [cut by atlas-ops]` : text;
}

/** Where a header row differs from the expected one, in words; undefined when it matches. */
export function headerProblem(tab: string, row: readonly unknown[] | undefined, expected: readonly string[]): string | undefined {
  if (!row || row.length === 0) return undefined; // empty tab: export writes the header
  for (let i = 0; i < expected.length; i++) {
    const got = String(row[i] ?? '').trim();
    if (got !== expected[i]) {
      const moved = row.findIndex((c) => String(c).trim() === expected[i]);
      return `${tab}!${String.fromCharCode(65 + i)}1 should be "${expected[i]}" but is "${got}"` +
        (moved >= 0 ? ` (the column was moved to ${String.fromCharCode(65 + moved)})` : '') +
        `. Put the header row back as ${expected.join(' | ')}; nothing was written.`;
    }
  }
  return undefined;
}
