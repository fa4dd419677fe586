// Sheets sync benchmark: export and import of N approvals through googleapis against the local
// emulator over real HTTP, on a real atlas.db. Prints time, Sheets API requests per run (counted
// by the emulator), and the import's database transaction time, for each size side by side.
//
//   npx tsx bench/sheets.ts                 # 10 000 approvals
//   npx tsx bench/sheets.ts 10000 100000 1000000   # the sizes
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { seedDemo } from '../src/db/demo-seed';
import { ensureHome } from '../src/home';
import { openDatabase } from '../src/db/sqlite';
import { startHomeEmulator } from '../src/sheets-emulator';
import { sheetsApi } from '../src/sheets/client';
import { COL, TAB } from '../src/sheets/layout';
import { exportApprovals, importDecisions } from '../src/sheets/sync';

const TARGET_APPROVALS = 10_000;

interface Row {
  approvals: number;
  exportMs: number;
  /** Of exportMs, the emulator saving its state file after each write (Google's side, here in our process). */
  exportEmulatorMs: number;
  exportRequests: number;
  quietExportRequests: number;
  quietExportWrites: number;
  importMs: number;
  importEmulatorMs: number;
  importRequests: number;
  transactionMs: number;
  applied: number;
  reimportRequests: number;
  reimportWrites: number;
}

async function measure(n: number): Promise<Row> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-bench-sheets-'));
  try {
    const { paths } = ensureHome(home, { demo: true, seedTasks: 1 });
    const db = openDatabase(paths.atlasDb);
    seedDemo(db, { tasks: n, pendingShare: 1, seed: 3 });
    const approvals = db.prepare("SELECT count(*) FROM approvals WHERE status = 'pending'").pluck().get() as number;
    db.close();
    const emu = await startHomeEmulator(home, { spreadsheetId: 'bench' });
    try {
      const config = loadConfig({ env: {}, overrides: { home, 'sheets.rootUrl': emu.url, 'sheets.spreadsheetId': emu.spreadsheetId } });
      const api = () => sheetsApi(config);
      const now = () => new Date();

      emu.resetStats();
      let t0 = performance.now();
      await exportApprovals(api(), paths.atlasDb, { now: now() });
      const exportMs = performance.now() - t0;
      const { requests: exportRequests, persistMs: exportEmulatorMs } = emu.stats();

      emu.resetStats();
      await exportApprovals(api(), paths.atlasDb, { now: now() });
      const quiet = emu.stats();

      // Every row gets a decision, as if people had worked through the whole sheet.
      const rows = emu.store.sheetRows(emu.spreadsheetId, TAB.approvals);
      for (let r = 1; r < rows.length; r++) rows[r]![COL.decision] = r % 4 === 0 ? 'reject' : 'approve';
      emu.store.save();

      emu.resetStats();
      t0 = performance.now();
      const imported = await importDecisions(api(), paths.atlasDb, { now: now() });
      const importMs = performance.now() - t0;
      const { requests: importRequests, persistMs: importEmulatorMs } = emu.stats();

      emu.resetStats();
      await importDecisions(api(), paths.atlasDb, { now: now(), forceCheck: true });
      const again = emu.stats();
      return {
        approvals,
        exportMs,
        exportEmulatorMs,
        exportRequests,
        quietExportRequests: quiet.requests,
        quietExportWrites: quiet.writes,
        importMs,
        importEmulatorMs,
        importRequests,
        transactionMs: imported.transactionMs,
        applied: imported.applied.length,
        reimportRequests: again.requests,
        reimportWrites: again.writes,
      };
    } finally {
      await emu.close();
    }
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`sizes must be whole numbers ≥ 1, got ${process.argv.slice(2).join(' ')}`);
  const results: Row[] = [];
  for (const n of sizes.length ? sizes : [10_000]) results.push(await measure(n));
  const ms = (v: number) => `${v.toFixed(0)} ms`;
  console.log('| approvals | export | of which emulator saves | req/export | quiet export req (writes) | import | of which emulator saves | req/import | import transaction | applied | re-import req (writes) |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    console.log(`| ${r.approvals} | ${ms(r.exportMs)} | ${ms(r.exportEmulatorMs)} | ${r.exportRequests} | ${r.quietExportRequests} (${r.quietExportWrites}) | ${ms(r.importMs)} | ${ms(r.importEmulatorMs)} | ${r.importRequests} | ${r.transactionMs.toFixed(1)} ms | ${r.applied} | ${r.reimportRequests} (${r.reimportWrites}) |`);
  }
  if (results.length > 1) {
    const [a, b] = [results[0]!, results.at(-1)!];
    const x = b.approvals / a.approvals;
    console.log(`\n${b.approvals} vs ${a.approvals} approvals (${x.toFixed(1)}× the rows): export ${(b.exportMs / a.exportMs).toFixed(1)}×, import ${(b.importMs / a.importMs).toFixed(1)}×, import transaction ${(b.transactionMs / a.transactionMs).toFixed(1)}×`);
  }
  // The request target (docs/performance.md#sheets-sync) is for 10 000 approvals; beyond that, Google's 10 MiB request
  // limit sets the count (one write request per ~9.5 MB of rows). No writes without changes, at every size.
  const over = results.filter((r) => (r.approvals <= TARGET_APPROVALS && (r.exportRequests > 3 || r.importRequests > 3)) || r.quietExportWrites > 0 || r.reimportWrites > 0);
  console.log(over.length ? `\nTARGET MISSED for ${over.map((r) => r.approvals).join(', ')} (≤ 3 requests per run at ${TARGET_APPROVALS}, no writes without changes)` : `\ntarget met: ≤ 3 Sheets API requests per run at ${TARGET_APPROVALS} approvals, no writes when nothing changed at any size, each import in one transaction`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
