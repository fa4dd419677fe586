// The emulator's spreadsheets, kept in one JSON file under the Atlas home so a person (or a test)
// can play the human with `atlas-ops sheets-emulator set`. The server re-reads the file when
// someone else changed it, so the CLI and a running server see one state.
import fs from 'node:fs';
import path from 'node:path';
import { MODE } from '../file-modes';
import { A1Error, formatA1, parseA1, type A1Range } from './a1';

/** A stored cell: a value, or a formula (only ever from USER_ENTERED input). */
export type Cell = string | number | boolean | { f: string } | null;

export interface SheetState {
  sheetId: number;
  title: string;
  rows: Cell[][];
}

export interface SpreadsheetState {
  spreadsheetId: string;
  title: string;
  sheets: SheetState[];
}

interface FileState {
  spreadsheets: Record<string, SpreadsheetState>;
}

export type InputOption = 'RAW' | 'USER_ENTERED';
export type RenderOption = 'FORMATTED_VALUE' | 'UNFORMATTED_VALUE' | 'FORMULA';

/** An error the API answers with: HTTP status, Google's status name, message. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly status: string,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = () => new ApiError(404, 'NOT_FOUND', 'Requested entity was not found.');
export const badRequest = (message: string) => new ApiError(400, 'INVALID_ARGUMENT', message);

export interface UpdateInfo {
  spreadsheetId: string;
  updatedRange: string;
  updatedRows: number;
  updatedColumns: number;
  updatedCells: number;
}

const isEmpty = (c: Cell | undefined) => c === null || c === undefined || c === '';

/** How the API turns typed input into a cell: only USER_ENTERED parses, and only there "=" is a formula. */
export function inputCell(value: unknown, option: InputOption): Cell | undefined {
  if (value === null || value === undefined) return undefined; // null leaves the cell as it is
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  const text = String(value);
  if (option === 'RAW') return text;
  if (text.startsWith("'")) return text.slice(1);
  if (text.startsWith('=')) return { f: text };
  if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text.trim())) return Number(text);
  if (/^(true|false)$/i.test(text)) return text.toLowerCase() === 'true';
  return text;
}

function render(cell: Cell | undefined, option: RenderOption): string | number | boolean {
  if (isEmpty(cell)) return '';
  if (typeof cell === 'object') return cell!.f; // the emulator does not evaluate formulas
  if (option === 'FORMATTED_VALUE') return typeof cell === 'boolean' ? (cell ? 'TRUE' : 'FALSE') : String(cell);
  return cell!;
}

export class EmulatorStore {
  private state: FileState = { spreadsheets: {} };
  private seen = '';

  constructor(readonly file: string) {
    this.refresh();
  }

  private stamp(): string {
    try {
      const s = fs.statSync(this.file);
      return `${s.mtimeMs}:${s.size}`;
    } catch {
      return '';
    }
  }

  /** Re-reads the file when another process changed it since we last read or wrote it. */
  refresh(): void {
    const stamp = this.stamp();
    if (stamp === this.seen) return;
    this.state = stamp ? (JSON.parse(fs.readFileSync(this.file, 'utf8')) as FileState) : { spreadsheets: {} };
    this.seen = stamp;
  }

  /** Drops unsaved in-memory changes (a failed batch) by reading the file again. */
  discard(): void {
    this.seen = '#';
    this.refresh();
  }

  /** Milliseconds spent writing the state file, so benchmarks can tell the emulator's time from ours. */
  persistMs = 0;

  save(): void {
    const t0 = performance.now();
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.state), { mode: MODE.file });
    fs.renameSync(tmp, this.file);
    this.seen = this.stamp();
    this.persistMs += performance.now() - t0;
  }

  list(): SpreadsheetState[] {
    return Object.values(this.state.spreadsheets);
  }

  spreadsheet(id: string): SpreadsheetState {
    const s = this.state.spreadsheets[id];
    if (!s) throw notFound();
    return s;
  }

  createSpreadsheet(id: string, title: string, tabs: string[]): SpreadsheetState {
    const existing = this.state.spreadsheets[id];
    if (existing) return existing;
    const s: SpreadsheetState = { spreadsheetId: id, title, sheets: [] };
    this.state.spreadsheets[id] = s;
    for (const tab of tabs.length ? tabs : ['Sheet1']) this.addSheetTo(s, tab);
    this.save();
    return s;
  }

  private addSheetTo(s: SpreadsheetState, title: string): SheetState {
    if (s.sheets.some((t) => t.title.toLowerCase() === title.toLowerCase())) {
      throw badRequest(`Invalid requests[0].addSheet: A sheet with the name "${title}" already exists. Please enter another name.`);
    }
    const sheet: SheetState = { sheetId: s.sheets.length ? Math.max(...s.sheets.map((t) => t.sheetId)) + 1 : 0, title, rows: [] };
    s.sheets.push(sheet);
    return sheet;
  }

  addSheet(id: string, title: string): SheetState {
    const sheet = this.addSheetTo(this.spreadsheet(id), title);
    this.save();
    return sheet;
  }

  deleteSheet(id: string, title: string): void {
    const s = this.spreadsheet(id);
    s.sheets = s.sheets.filter((t) => t.title !== title);
    this.save();
  }

  private resolve(id: string, text: string): { sheet: SheetState; range: A1Range } {
    const s = this.spreadsheet(id);
    let range: A1Range;
    try {
      range = parseA1(text);
    } catch (err) {
      throw badRequest(`Unable to parse range: ${text}${err instanceof A1Error ? ` (${err.message})` : ''}`);
    }
    const sheet = range.sheet === undefined ? s.sheets[0] : s.sheets.find((t) => t.title === range.sheet);
    if (!sheet) throw badRequest(`Unable to parse range: ${text}`);
    return { sheet, range };
  }

  /** values.get: trailing empty cells of each row and trailing empty rows are left out, as the API does. */
  read(id: string, text: string, option: RenderOption = 'FORMATTED_VALUE'): { range: string; majorDimension: 'ROWS'; values?: unknown[][] } {
    const { sheet, range } = this.resolve(id, text);
    const lastRow = Math.min(range.endRow, sheet.rows.length);
    const out: unknown[][] = [];
    let widest = 0;
    for (let r = range.startRow; r < lastRow; r++) {
      const row = sheet.rows[r] ?? [];
      const lastCol = Math.min(range.endCol, row.length);
      const cells: unknown[] = [];
      for (let c = range.startCol; c < lastCol; c++) cells.push(render(row[c], option));
      while (cells.length && cells[cells.length - 1] === '') cells.pop();
      widest = Math.max(widest, row.length);
      out.push(cells);
    }
    while (out.length && out[out.length - 1]!.length === 0) out.pop();
    const endRow = range.endRow === Infinity ? Math.max(range.startRow + 1, range.startRow + out.length) : range.endRow;
    const endCol = range.endCol === Infinity ? Math.max(range.startCol + 1, widest) : range.endCol;
    const result: { range: string; majorDimension: 'ROWS'; values?: unknown[][] } = {
      range: formatA1(sheet.title, range.startRow, range.startCol, endRow, endCol),
      majorDimension: 'ROWS',
    };
    if (out.length) result.values = out;
    return result;
  }

  private put(sheet: SheetState, row: number, col: number, values: unknown[][], option: InputOption): { rows: number; cols: number; cells: number } {
    let cols = 0;
    let cells = 0;
    values.forEach((line, i) => {
      if (!Array.isArray(line)) throw badRequest(`Invalid values[${i}]: expected a list of cells`);
      const target = (sheet.rows[row + i] ??= []);
      line.forEach((value, j) => {
        const cell = inputCell(value, option);
        if (cell === undefined) return;
        while (target.length < col + j) target.push(null);
        target[col + j] = cell === '' ? null : cell;
        cells++;
      });
      cols = Math.max(cols, line.length);
    });
    for (let r = 0; r < sheet.rows.length; r++) sheet.rows[r] ??= [];
    return { rows: values.length, cols, cells };
  }

  /** values.update: writes from the range's top-left cell; a bounded range must hold the values. */
  write(id: string, text: string, values: unknown[][], option: InputOption, save = true): UpdateInfo {
    const { sheet, range } = this.resolve(id, text);
    if (!Array.isArray(values)) throw badRequest('Invalid value: "values" must be a list of rows');
    // A loop, not Math.max(...rows): spreading 200 000 rows overflows the call stack.
    const width = values.reduce((w, v) => Math.max(w, Array.isArray(v) ? v.length : 0), 0);
    if (range.endRow !== Infinity && values.length > range.endRow - range.startRow) {
      throw badRequest(`Requested writing within range [${text}], but tried writing to row [${range.startRow + values.length}]`);
    }
    if (range.endCol !== Infinity && width > range.endCol - range.startCol) {
      throw badRequest(`Requested writing within range [${text}], but tried writing to column [${range.startCol + width}]`);
    }
    const n = this.put(sheet, range.startRow, range.startCol, values, option);
    if (save) this.save();
    return {
      spreadsheetId: id,
      updatedRange: formatA1(sheet.title, range.startRow, range.startCol, range.startRow + Math.max(1, n.rows), range.startCol + Math.max(1, n.cols)),
      updatedRows: n.rows,
      updatedColumns: n.cols,
      updatedCells: n.cells,
    };
  }

  /** values.append: finds the table in the range and writes below its last non-empty row. */
  append(id: string, text: string, values: unknown[][], option: InputOption): { spreadsheetId: string; tableRange?: string; updates: UpdateInfo } {
    const { sheet, range } = this.resolve(id, text);
    let last = -1;
    for (let r = range.startRow; r < sheet.rows.length; r++) {
      const row = sheet.rows[r] ?? [];
      if (row.slice(range.startCol, range.endCol === Infinity ? undefined : range.endCol).some((c) => !isEmpty(c))) last = r;
    }
    const startRow = last + 1 > range.startRow ? last + 1 : range.startRow;
    const n = this.put(sheet, startRow, range.startCol, values, option);
    this.save();
    const updates: UpdateInfo = {
      spreadsheetId: id,
      updatedRange: formatA1(sheet.title, startRow, range.startCol, startRow + Math.max(1, n.rows), range.startCol + Math.max(1, n.cols)),
      updatedRows: n.rows,
      updatedColumns: n.cols,
      updatedCells: n.cells,
    };
    return { spreadsheetId: id, ...(last >= 0 ? { tableRange: formatA1(sheet.title, range.startRow, range.startCol, last + 1, range.startCol + 1) } : {}), updates };
  }

  clear(id: string, text: string): { spreadsheetId: string; clearedRange: string } {
    const { sheet, range } = this.resolve(id, text);
    for (let r = range.startRow; r < Math.min(range.endRow, sheet.rows.length); r++) {
      const row = sheet.rows[r]!;
      for (let c = range.startCol; c < Math.min(range.endCol, row.length); c++) row[c] = null;
    }
    this.save();
    const endRow = range.endRow === Infinity ? Math.max(range.startRow + 1, sheet.rows.length) : range.endRow;
    const endCol = range.endCol === Infinity ? range.startCol + 1 : range.endCol;
    return { spreadsheetId: id, clearedRange: formatA1(sheet.title, range.startRow, range.startCol, endRow, endCol) };
  }

  /** The stored cell (formula or value), for tests and `sheets-emulator show`. */
  cell(id: string, text: string): Cell {
    const { sheet, range } = this.resolve(id, text);
    return sheet.rows[range.startRow]?.[range.startCol] ?? null;
  }

  sheetRows(id: string, title: string): Cell[][] {
    const sheet = this.spreadsheet(id).sheets.find((t) => t.title === title);
    if (!sheet) throw badRequest(`no tab "${title}"`);
    return sheet.rows;
  }
}
