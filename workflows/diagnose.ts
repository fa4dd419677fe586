// `diagnose`: the runbook's test-sheets-auth, test-sheets-permissions and "database locked" checks
// as one procedure an operator can start from the Web UI. It changes nothing but, like `doctor db`,
// switches WAL back on when no process holds atlas.db.
import type { ConnectivityReport } from '../src/sheets/doctor';
import type { DbDoctorReport } from '../src/db/doctor';
import { HOME, HOST_QUEUE, inputTable, type InputOf } from './lib/input';
import { runProcedure } from './lib/template';

export const DIAGNOSE_INPUT = inputTable([
  { name: 'sheets', type: 'boolean', default: true, doc: 'Check the Sheets API: DNS, TCP, HTTPS, auth, spreadsheet.' },
  { name: 'permissions', type: 'boolean', default: false, doc: 'Also write to the sheet to prove the permission (test-sheets-permissions).' },
  { name: 'db', type: 'boolean', default: true, doc: 'Check atlas.db: holders, journal mode, write lock.' },
  HOST_QUEUE,
  HOME,
]);

export type DiagnoseInput = InputOf<typeof DIAGNOSE_INPUT>;

export interface DiagnoseResult {
  outcome: 'completed' | 'aborted';
  ok: boolean;
  sheets?: ConnectivityReport;
  db?: DbDoctorReport;
  findings: string[];
}

export function diagnose(input?: DiagnoseInput): Promise<DiagnoseResult> {
  return runProcedure({ name: 'diagnose', input: DIAGNOSE_INPUT }, input, (p, { sheets, permissions, db }) => {
    const result: DiagnoseResult = { outcome: 'completed', ok: true, findings: [] };
    return {
      result,
      async run() {
        if (sheets) {
          p.phase('sheets', `Checking the Sheets API${permissions ? ' and write permission' : ''}.`);
          result.sheets = (await p.step('sheets connectivity', () => p.acts.sheetsConnectivity({ permissions }), { skippable: true })).value;
          if (result.sheets && !result.sheets.ok) {
            const failed = result.sheets.checks.find((c) => c.name === result.sheets!.failed);
            result.findings.push(`sheets: ${result.sheets.failed} failed${failed ? `: ${failed.detail}` : ''}`);
          }
        }
        if (db) {
          p.phase('db', 'Checking who holds atlas.db, its journal mode and its write lock.');
          result.db = (await p.step('database doctor', () => p.acts.diagnoseAtlasDb(), { skippable: true })).value;
          if (result.db && !result.db.ok) result.findings.push(...result.db.advice.map((a) => `db: ${a}`), ...(result.db.error ? [`db: ${result.db.error}`] : []));
        }
        result.ok = result.findings.length === 0;
        p.finish('completed', result.ok ? 'All checks passed.' : `Findings:\n\n${result.findings.map((f) => `- ${f}`).join('\n')}`);
      },
      // A check that fails waits for a decision like any step; an abort there ends the diagnosis (it changed nothing).
      async aborted() {
        result.outcome = 'aborted';
        p.finish('aborted', 'Aborted.');
      },
    };
  });
}
