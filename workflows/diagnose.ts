// `diagnose`: the runbook's test-sheets-auth, test-sheets-permissions and "database locked" checks
// as one procedure an operator can start from the Web UI. It changes nothing but, like `doctor db`,
// switches WAL back on when no process holds atlas.db.
import type { ConnectivityReport } from '../src/sheets/doctor';
import type { DbDoctorReport } from '../src/db/doctor';
import { inputObject, optionalBoolean, rejectUnknown } from './lib/input';
import { Procedure } from './lib/procedure';

export interface DiagnoseInput {
  /** Check the Sheets API: DNS, TCP, HTTPS, auth, spreadsheet (default true). */
  sheets?: boolean;
  /** Also write to the sheet to prove the permission (test-sheets-permissions). */
  permissions?: boolean;
  /** Check atlas.db: holders, journal mode, write lock (default true). */
  db?: boolean;
}

export interface DiagnoseResult {
  outcome: 'completed';
  ok: boolean;
  sheets?: ConnectivityReport;
  db?: DbDoctorReport;
  findings: string[];
}

export async function diagnose(rawInput?: DiagnoseInput): Promise<DiagnoseResult> {
  const input = inputObject(rawInput, 'diagnose');
  rejectUnknown(input, ['sheets', 'permissions', 'db']);
  const wantSheets = optionalBoolean(input, 'sheets') ?? true;
  const permissions = optionalBoolean(input, 'permissions') ?? false;
  const wantDb = optionalBoolean(input, 'db') ?? true;

  const p = await Procedure.start('diagnose');
  const result: DiagnoseResult = { outcome: 'completed', ok: true, findings: [] };
  if (wantSheets) {
    p.phase('sheets', `Checking the Sheets API${permissions ? ' and write permission' : ''}.`);
    result.sheets = (await p.step('sheets connectivity', () => p.acts.sheetsConnectivity({ permissions }), { skippable: true })).value;
    if (result.sheets && !result.sheets.ok) {
      const failed = result.sheets.checks.find((c) => c.name === result.sheets!.failed);
      result.findings.push(`sheets: ${result.sheets.failed} failed${failed ? `: ${failed.detail}` : ''}`);
    }
  }
  if (wantDb) {
    p.phase('db', 'Checking who holds atlas.db, its journal mode and its write lock.');
    result.db = (await p.step('database doctor', () => p.acts.diagnoseAtlasDb(), { skippable: true })).value;
    if (result.db && !result.db.ok) result.findings.push(...result.db.advice.map((a) => `db: ${a}`), ...(result.db.error ? [`db: ${result.db.error}`] : []));
  }
  result.ok = result.findings.length === 0;
  p.finish('completed', result.ok ? 'All checks passed.' : `Findings:\n\n${result.findings.map((f) => `- ${f}`).join('\n')}`);
  return result;
}
