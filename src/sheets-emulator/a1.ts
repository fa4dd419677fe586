// A1 notation as the Sheets API reads it: `Approvals!A2:J`, `'My tab'!B3`, `Status`, `Tasks!2:5`.
// Quoted sheet names double their single quotes ('Bob''s tab'). Rows and columns are 0-based here.

export interface A1Range {
  /** Undefined when the range names no sheet (the API then means the first one). */
  sheet?: string;
  startRow: number;
  startCol: number;
  /** Exclusive; Infinity when open-ended (`A:C`, `A2:C`, a bare sheet name). */
  endRow: number;
  endCol: number;
}

export class A1Error extends Error {
  override name = 'A1Error';
}

/** "A" → 0, "Z" → 25, "AA" → 26. */
export function columnIndex(letters: string): number {
  let n = 0;
  for (const ch of letters.toUpperCase()) n = n * 26 + (ch.charCodeAt(0) - 64);
  return n - 1;
}

/** 0 → "A", 26 → "AA". */
export function columnLetters(index: number): string {
  let s = '';
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
  return s;
}

/** Quotes a sheet name when the API needs it (anything but letters, digits and _). */
export function quoteSheet(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : `'${name.replace(/'/g, "''")}'`;
}

const CELL = /^([A-Za-z]{1,3})?(\d+)?$/;

function splitSheet(text: string): { sheet?: string; cells?: string } {
  if (text.startsWith("'")) {
    let i = 1;
    let name = '';
    for (; i < text.length; i++) {
      if (text[i] === "'") {
        if (text[i + 1] === "'") {
          name += "'";
          i++;
          continue;
        }
        break;
      }
      name += text[i];
    }
    if (i >= text.length) throw new A1Error(`unterminated quoted sheet name in "${text}"`);
    const rest = text.slice(i + 1);
    if (rest === '') return { sheet: name };
    if (!rest.startsWith('!')) throw new A1Error(`expected "!" after the sheet name in "${text}"`);
    return { sheet: name, cells: rest.slice(1) };
  }
  const bang = text.lastIndexOf('!');
  if (bang >= 0) return { sheet: text.slice(0, bang), cells: text.slice(bang + 1) };
  // Without "!", text is either cells (A1:B2) or a sheet name; cells win when they parse as cells.
  const parts = text.split(':');
  if (parts.length <= 2 && parts.every((p) => p !== '' && CELL.test(p))) return { cells: text };
  return { sheet: text };
}

export function parseA1(text: string): A1Range {
  const raw = text.trim();
  if (!raw) throw new A1Error('empty range');
  const { sheet, cells } = splitSheet(raw);
  if (sheet !== undefined && sheet === '') throw new A1Error(`empty sheet name in "${text}"`);
  if (cells === undefined || cells === '') return { sheet, startRow: 0, startCol: 0, endRow: Infinity, endCol: Infinity };
  const [a, b, extra] = cells.split(':');
  if (extra !== undefined) throw new A1Error(`too many ":" in "${text}"`);
  const start = CELL.exec(a!);
  const end = b === undefined ? start : CELL.exec(b);
  if (!start || !end || (!start[1] && !start[2]) || (!end[1] && !end[2])) throw new A1Error(`"${cells}" is not an A1 range`);
  const startCol = start[1] ? columnIndex(start[1]) : 0;
  const startRow = start[2] ? Number(start[2]) - 1 : 0;
  const endCol = end[1] ? columnIndex(end[1]) + 1 : Infinity;
  const endRow = end[2] ? Number(end[2]) : Infinity;
  if (startRow < 0 || (start[2] && Number(start[2]) < 1) || (end[2] && Number(end[2]) < 1)) throw new A1Error(`row numbers start at 1 in "${text}"`);
  return {
    sheet,
    startRow: Math.min(startRow, endRow === Infinity ? startRow : endRow - 1),
    startCol: Math.min(startCol, endCol === Infinity ? startCol : endCol - 1),
    endRow: Math.max(endRow, startRow + 1),
    endCol: Math.max(endCol, startCol + 1),
  };
}

/** Formats a range back to A1 (open ends are given as the last row/column actually used). */
export function formatA1(sheet: string, startRow: number, startCol: number, endRow: number, endCol: number): string {
  const first = `${columnLetters(startCol)}${startRow + 1}`;
  const last = `${columnLetters(Math.max(startCol, endCol - 1))}${Math.max(startRow, endRow - 1) + 1}`;
  return `${quoteSheet(sheet)}!${first === last ? first : `${first}:${last}`}`;
}
