// The Sheets emulator beside a test environment, and a "human" who types into the sheet the way a
// person does in the Sheets UI (USER_ENTERED), addressed by approval id so sorted rows do not matter.
import type { AtlasConfig } from '../../src/config';
import { openDatabase } from '../../src/db/sqlite';
import { atlasPaths } from '../../src/paths';
import { startHomeEmulator, type SheetsEmulator } from '../../src/sheets-emulator';
import { columnIndex } from '../../src/sheets-emulator/a1';
import type { Cell } from '../../src/sheets-emulator/store';
import { sheetsApi } from '../../src/sheets/client';
import { TAB } from '../../src/sheets/layout';
import type { TestEnv } from './env';

export interface SheetsFixture {
  emu: SheetsEmulator & { spreadsheetId: string };
  config: AtlasConfig;
  env: NodeJS.ProcessEnv;
  api: () => ReturnType<typeof sheetsApi>;
  /** Stored rows of a tab (formulas as {f}). */
  rows(tab?: string): Cell[][];
  /** The 1-based sheet row that holds this approval id. */
  rowOf(id: string): number;
  /** Types into column `col` (letter) of the row holding `id`, as a person would. */
  type(id: string, col: string, value: string | number): void;
  set(a1: string, value: string | number): void;
  writes(): number;
  close(): Promise<void>;
}

export async function withSheets(t: TestEnv, overrides: Partial<AtlasConfig['sheets']> = {}): Promise<SheetsFixture> {
  const emu = await startHomeEmulator(t.home, { spreadsheetId: `sheet-${t.id}` });
  const config: AtlasConfig = { ...t.config, sheets: { ...t.config.sheets, rootUrl: emu.url, spreadsheetId: emu.spreadsheetId, ...overrides } };
  const env = { ATLAS_SHEETS_ROOT_URL: emu.url, ATLAS_SHEETS_SPREADSHEET_ID: emu.spreadsheetId };
  const rows = (tab: string = TAB.approvals) => emu.store.sheetRows(emu.spreadsheetId, tab);
  const rowOf = (id: string) => {
    const i = rows().findIndex((r) => r[0] === id);
    if (i < 0) throw new Error(`approval ${id} is not in the sheet`);
    return i + 1;
  };
  const set = (a1: string, value: string | number) => {
    emu.store.refresh();
    emu.store.write(emu.spreadsheetId, a1, [[value]], 'USER_ENTERED');
  };
  return {
    emu,
    config,
    env,
    api: () => sheetsApi(config),
    rows,
    rowOf,
    type: (id, col, value) => {
      columnIndex(col);
      set(`${TAB.approvals}!${col}${rowOf(id)}`, value);
    },
    set,
    writes: () => emu.stats().writes,
    close: () => emu.close(),
  };
}

/** Pending approval ids of the test's atlas.db, in export order. */
export function pendingApprovals(t: TestEnv): string[] {
  const db = openDatabase(atlasPaths(t.home).atlasDb, { readonly: true });
  try {
    return db.prepare("SELECT id FROM approvals WHERE status = 'pending' ORDER BY requested_at, id").pluck().all() as string[];
  } finally {
    db.close();
  }
}
