// Creates an Atlas home: the folders of docs/architecture.md#the-atlas-home, ops.db, and (for `atlas-ops dev`) a demo
// atlas.db with the v1 schema and seeded data. Never touches an existing atlas.db beyond migrating it.
import fs from 'node:fs';
import { atlasPaths, type AtlasPaths } from './paths';
import { migrateAtlas } from './db/atlas-schema';
import { seedDemo, type SeedResult } from './db/demo-seed';
import { openOpsDb } from './db/ops-db';
import { openDatabase } from './db/sqlite';

export interface HomeSetup {
  paths: AtlasPaths;
  createdAtlasDb: boolean;
  seeded?: SeedResult;
}

export function ensureHome(home: string, options: { demo?: boolean; seedTasks?: number } = {}): HomeSetup {
  const paths = atlasPaths(home);
  for (const dir of [paths.home, paths.dataDir, paths.backupsDir, paths.logsDir, paths.configDir, paths.reportsDir, paths.runDir]) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o750 });
  }
  openOpsDb(paths.opsDb).close();
  let createdAtlasDb = false;
  let seeded: SeedResult | undefined;
  if (!fs.existsSync(paths.atlasDb) && options.demo) {
    const db = openDatabase(paths.atlasDb, { create: true, wal: true });
    try {
      migrateAtlas(db);
      seeded = seedDemo(db, { tasks: options.seedTasks ?? 200 });
    } finally {
      db.close();
    }
    createdAtlasDb = true;
  }
  return { paths, createdAtlasDb, seeded };
}
