// Google refuses a request body over 10 MiB ("Request payload size exceeds the limit"), and one
// values.batchUpdate of 100 000 approvals is about 23 MB. Writes are therefore cut into requests
// under a budget, splitting a long range by rows where needed. Requests go out in order, so a
// failure part-way leaves a prefix of the rows written: the next export reads the sheet and
// continues from there, and the Status tab (always last) is not stamped.
import { REQUEST_BYTES_MAX } from './layout';

export interface RangeWrite {
  range: string;
  values: string[][];
}

/** Bytes of body per request: the limit less room for the envelope and JSON escaping slack. */
export const REQUEST_BYTES_BUDGET = REQUEST_BYTES_MAX - 512 * 1024;

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

/** `Tab!A5:F100` → its parts; ranges atlas-ops writes always have this shape. */
function parseRange(range: string): { tab: string; firstCol: string; firstRow: number; lastCol: string } {
  const m = /^(.+)!([A-Z]+)(\d+)(?::([A-Z]+)\d+)?$/.exec(range);
  if (!m) throw new Error(`cannot split the range ${range}: expected Tab!A1:B2`);
  return { tab: m[1]!, firstCol: m[2]!, firstRow: Number(m[3]), lastCol: m[4] ?? m[2]! };
}

/** Cuts one range into row slices that each fit the budget. */
function splitByRows(write: RangeWrite, budget: number): RangeWrite[] {
  const { tab, firstCol, firstRow, lastCol } = parseRange(write.range);
  const out: RangeWrite[] = [];
  let start = 0;
  let size = 0;
  const flush = (end: number) => {
    if (end === start) return;
    out.push({ range: `${tab}!${firstCol}${firstRow + start}:${lastCol}${firstRow + end - 1}`, values: write.values.slice(start, end) });
    start = end;
    size = 0;
  };
  write.values.forEach((row, i) => {
    const rowBytes = bytes(row) + 1;
    if (size + rowBytes > budget) flush(i);
    size += rowBytes;
  });
  flush(write.values.length);
  return out;
}

/** Groups writes into requests of at most `budget` bytes each, in their original order. */
export function requestBatches(writes: RangeWrite[], budget = REQUEST_BYTES_BUDGET): RangeWrite[][] {
  const batches: RangeWrite[][] = [];
  let current: RangeWrite[] = [];
  let size = 0;
  for (const write of writes) {
    const whole = bytes(write);
    for (const piece of whole > budget ? splitByRows(write, budget) : [write]) {
      const pieceBytes = piece === write ? whole : bytes(piece);
      if (current.length && size + pieceBytes > budget) {
        batches.push(current);
        current = [];
        size = 0;
      }
      current.push(piece);
      size += pieceBytes + 1;
    }
  }
  if (current.length) batches.push(current);
  return batches;
}
