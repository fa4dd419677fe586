// Creates an Atlas home: the folders of docs/architecture.md#the-atlas-home, ops.db, and (for `atlas-ops dev`) a demo
// atlas.db with the v1 schema and seeded data. Never touches an existing atlas.db beyond migrating it.
import fs from 'node:fs';
import path from 'node:path';
import { MODE, tightenMode } from './file-modes';
import { atlasPaths, type AtlasPaths } from './paths';
import { migrateAtlas } from './db/atlas-schema';
import { seedDemo, type SeedResult } from './db/demo-seed';
import { openOpsDb } from './db/ops-db';
import { withDatabase } from './db/sqlite';

export interface HomeSetup {
  paths: AtlasPaths;
  createdAtlasDb: boolean;
  seeded?: SeedResult;
  /** Paths of atlas-ops' own whose loose modes were tightened (a home made under another umask). */
  tightened: string[];
}

export function ensureHome(home: string, options: { demo?: boolean; seedTasks?: number } = {}): HomeSetup {
  const paths = atlasPaths(home);
  for (const dir of [paths.home, paths.dataDir, paths.backupsDir, paths.logsDir, paths.configDir, paths.reportsDir, paths.runDir]) {
    fs.mkdirSync(dir, { recursive: true, mode: MODE.dir });
  }
  const tightened = tightenOwnModes(paths);
  openOpsDb(paths.opsDb).close();
  let createdAtlasDb = false;
  let seeded: SeedResult | undefined;
  if (!fs.existsSync(paths.atlasDb) && options.demo) {
    seeded = withDatabase(paths.atlasDb, { create: true, wal: true }, (db) => {
      migrateAtlas(db);
      return seedDemo(db, { tasks: options.seedTasks ?? 200 });
    });
    createdAtlasDb = true;
  }
  return { paths, createdAtlasDb, seeded, tightened };
}

/** The live database the Atlas app owns: its mode is the app's (and the operator's) to set. */
const APP_FILES = ['atlas.db', 'atlas.db-wal', 'atlas.db-shm', 'atlas.db-journal'];

/**
 * What atlas-ops writes in a home, so its modes are atlas-ops' to keep: backups/, logs/, reports/,
 * run/ and all below them; in data/ everything but the live atlas.db (ops.db, the flag, the files
 * restores keep); the dev stack's state beside them. The home, data/, config/ and atlas.db are
 * the operator's and the app's: `report security` names them when they are open to others.
 */
export function ownFiles(paths: AtlasPaths): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      out.push(p);
      if (e.isDirectory()) walk(p);
    }
  };
  for (const dir of [paths.backupsDir, paths.logsDir, paths.reportsDir, paths.runDir]) {
    if (!fs.existsSync(dir)) continue;
    out.push(dir);
    walk(dir);
  }
  const inData = fs.existsSync(paths.dataDir) ? fs.readdirSync(paths.dataDir).filter((n) => !APP_FILES.includes(n)) : [];
  out.push(...inData.map((n) => path.join(paths.dataDir, n)));
  const devState = fs.readdirSync(paths.home).filter((n) => /^(sheets-emulator\.json|temporal\.db)/.test(n));
  out.push(...devState.map((n) => path.join(paths.home, n)));
  return out;
}

/**
 * An existing home made under a looser umask: what atlas-ops owns loses group write and every
 * access for others (docs/safety.md#file-modes). Returns the paths changed.
 */
export function tightenOwnModes(paths: AtlasPaths): string[] {
  return ownFiles(paths).filter((f) => tightenMode(f));
}

/** The line a start prints when it tightened something, so the operator knows why modes changed. */
export function tightenedNote(home: string, tightened: string[]): string | undefined {
  if (!tightened.length) return undefined;
  return `removed group write and access for others from ${tightened.length} of atlas-ops' own paths in ${home} (docs/safety.md#file-modes)`;
}
