// The Sheets emulator as `atlas-ops dev` and the tests use it: state in `<home>/sheets-emulator.json`,
// the approvals spreadsheet created with its three tabs.
import fs from 'node:fs';
import path from 'node:path';
import { MODE } from '../file-modes';
import { TABS } from '../sheets/layout';
import { isLoopback } from '../sheets/client';
import { writeFileAtomic } from '../atomic-file';
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

/** The service account `atlas-ops dev` rotates keys of, in the emulator's IAM. */
export const DEV_SERVICE_ACCOUNT = 'atlas-dev@atlas-dev.iam.gserviceaccount.com';

/**
 * A dev home's Sheets key, so key rotation runs against the emulator: issued by its IAM when the
 * file is missing; a key it issued earlier (token_uri on loopback) gets this run's token URL, since
 * a picked port changes between runs. A key with any other token_uri is never touched.
 */
export function ensureDevKey(emulator: SheetsEmulator, file: string): 'issued' | 'kept' {
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: MODE.dir });
    writeFileAtomic(file, JSON.stringify(emulator.iam.issueKey(DEV_SERVICE_ACCOUNT)), MODE.secret);
    return 'issued';
  }
  const key = JSON.parse(fs.readFileSync(file, 'utf8')) as { token_uri?: string };
  const tokenUri = `${emulator.url}token`;
  if (key.token_uri && key.token_uri !== tokenUri && isLoopback(key.token_uri)) writeFileAtomic(file, JSON.stringify({ ...key, token_uri: tokenUri }), MODE.secret);
  return 'kept';
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
