// The Sheets emulator as `atlas-ops dev` and the tests use it: state in `<home>/sheets-emulator.json`,
// the approvals spreadsheet created with its three tabs.
import path from 'node:path';
import { TABS } from '../sheets/layout';
import { startSheetsEmulator, type SheetsEmulator } from './server';

export { startSheetsEmulator, type SheetsEmulator } from './server';
export { EmulatorStore } from './store';

/** The spreadsheet id `atlas-ops dev` uses unless one is configured. */
export const DEV_SPREADSHEET_ID = 'atlas-dev-approvals';

export function emulatorStateFile(home: string): string {
  return path.join(home, 'sheets-emulator.json');
}

/** Starts the emulator for an Atlas home (port 0: a free one) with the approvals spreadsheet in it. */
export async function startHomeEmulator(home: string, options: { port?: number; spreadsheetId?: string } = {}): Promise<SheetsEmulator & { spreadsheetId: string }> {
  const emulator = await startSheetsEmulator({ file: emulatorStateFile(home), port: options.port ?? 0 });
  const spreadsheetId = options.spreadsheetId || DEV_SPREADSHEET_ID;
  emulator.store.createSpreadsheet(spreadsheetId, 'Atlas approvals (emulator)', [...TABS]);
  return Object.assign(emulator, { spreadsheetId });
}
