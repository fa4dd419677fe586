// The Sheets emulator as `atlas-ops dev` and the tests use it: state in `<home>/sheets-emulator.json`,
// the approvals spreadsheet created with its three tabs.
import fs from 'node:fs';
import path from 'node:path';
import { MODE } from '../file-modes';
import { TABS } from '../sheets/layout';
import { startSheetsEmulator, type SheetsEmulator } from './server';

export { startSheetsEmulator, type SheetsEmulator } from './server';
export { EmulatorStore } from './store';

/** The spreadsheet id `atlas-ops dev` uses unless one is configured. */
export const DEV_SPREADSHEET_ID = 'atlas-dev-approvals';

export function emulatorStateFile(home: string): string {
  return path.join(home, 'sheets-emulator.json');
}

/** Where a running emulator leaves its URL, so `atlas-ops sheets-emulator fault|stats` finds it. */
export function emulatorUrlFile(home: string): string {
  return path.join(home, 'run', 'sheets-emulator.url');
}

/** Starts the emulator for an Atlas home (port 0: a free one) with the approvals spreadsheet in it. */
export async function startHomeEmulator(home: string, options: { port?: number; spreadsheetId?: string } = {}): Promise<SheetsEmulator & { spreadsheetId: string }> {
  const emulator = await startSheetsEmulator({ file: emulatorStateFile(home), port: options.port ?? 0 });
  const spreadsheetId = options.spreadsheetId || DEV_SPREADSHEET_ID;
  emulator.store.createSpreadsheet(spreadsheetId, 'Atlas approvals (emulator)', [...TABS]);
  const urlFile = emulatorUrlFile(home);
  fs.mkdirSync(path.dirname(urlFile), { recursive: true, mode: MODE.dir });
  fs.writeFileSync(urlFile, emulator.url, { mode: MODE.file });
  const close = emulator.close;
  return Object.assign(emulator, {
    spreadsheetId,
    async close() {
      if (fs.existsSync(urlFile) && fs.readFileSync(urlFile, 'utf8') === emulator.url) fs.rmSync(urlFile, { force: true });
      await close();
    },
  });
}
