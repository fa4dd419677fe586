// The fault suite's table: each fault test records its row; the last file to finish prints the table
// (fault, runs, survived, data lost) and writes it to test-artifacts/faults.md.
import fs from 'node:fs';
import path from 'node:path';

const DIR = path.resolve(__dirname, '..', '..', 'test-artifacts');
const FILE = path.join(DIR, 'faults.jsonl');

export interface FaultRow {
  fault: string;
  survived: boolean;
  dataLost: number;
}

export function recordFault(row: FaultRow): void {
  fs.mkdirSync(DIR, { recursive: true });
  fs.appendFileSync(FILE, `${JSON.stringify(row)}\n`);
}

export function faultTable(): string {
  if (!fs.existsSync(FILE)) return 'no fault runs recorded';
  const rows = new Map<string, { runs: number; survived: number; dataLost: number }>();
  for (const line of fs.readFileSync(FILE, 'utf8').split('\n').filter(Boolean)) {
    const r = JSON.parse(line) as FaultRow;
    const agg = rows.get(r.fault) ?? { runs: 0, survived: 0, dataLost: 0 };
    agg.runs++;
    agg.survived += r.survived ? 1 : 0;
    agg.dataLost += r.dataLost;
    rows.set(r.fault, agg);
  }
  const lines = ['| fault | runs | survived | data lost |', '| --- | --- | --- | --- |'];
  for (const [fault, a] of [...rows].sort()) lines.push(`| ${fault} | ${a.runs} | ${a.survived} | ${a.dataLost} |`);
  return lines.join('\n');
}

export function resetFaults(): void {
  fs.rmSync(FILE, { force: true });
}
