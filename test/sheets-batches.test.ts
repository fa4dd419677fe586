// Writes cut into requests under Google's payload limit: order, rows and ranges preserved.
import { describe, expect, it } from 'vitest';
import { requestBatches, REQUEST_BYTES_BUDGET, type RangeWrite } from '../src/sheets/batches';
import { REQUEST_BYTES_MAX } from '../src/sheets/layout';

const bytes = (x: unknown) => Buffer.byteLength(JSON.stringify(x), 'utf8');
const rows = (from: number, n: number, width = 6, text = 'x') => Array.from({ length: n }, (_, i) => Array.from({ length: width }, (_, c) => `${text}${from + i}-${c}`));

describe('requestBatches', () => {
  it('keeps small writes in one request, in order', () => {
    const writes: RangeWrite[] = [
      { range: 'Approvals!A1:J1', values: rows(1, 1, 10) },
      { range: 'Approvals!A2:F4', values: rows(2, 3) },
      { range: 'Status!A2:B2', values: [['a', 'b']] },
    ];
    expect(requestBatches(writes)).toEqual([writes]);
  });

  it('splits a long range by rows; every request fits, and the pieces add up to the original', () => {
    const big = 'é'.repeat(2000); // two bytes each in UTF-8: the budget counts bytes, not characters
    const write: RangeWrite = { range: 'Approvals!A2:F501', values: rows(2, 500, 6, big) };
    const budget = 200_000;
    const batches = requestBatches([write, { range: 'Status!A2:B2', values: [['last export', 'now']] }], budget);
    expect(batches.length).toBeGreaterThan(1);
    for (const b of batches) expect(bytes(b)).toBeLessThanOrEqual(budget);
    const pieces = batches.flat();
    expect(pieces.at(-1)!.range).toBe('Status!A2:B2');
    const approvalPieces = pieces.slice(0, -1);
    expect(approvalPieces.flatMap((p) => p.values)).toEqual(write.values);
    let next = 2;
    for (const p of approvalPieces) {
      expect(p.range).toBe(`Approvals!A${next}:F${next + p.values.length - 1}`);
      next += p.values.length;
    }
    expect(next).toBe(502);
  });

  it('the default budget leaves room under Google\'s 10 MiB for the request envelope', () => {
    expect(REQUEST_BYTES_BUDGET).toBeLessThan(REQUEST_BYTES_MAX);
    expect(REQUEST_BYTES_MAX - REQUEST_BYTES_BUDGET).toBeGreaterThanOrEqual(64 * 1024);
  });

  it('refuses to split a range it cannot read rather than guess', () => {
    const write: RangeWrite = { range: 'no range here', values: rows(1, 50, 6, 'y'.repeat(100)) };
    expect(() => requestBatches([write], 1000)).toThrow(/cannot split the range no range here/);
  });
});
