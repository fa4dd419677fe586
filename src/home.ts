// Creates an Atlas home: the folders of docs/architecture.md#the-atlas-home, ops.db, and (for `atlas-ops dev`) a demo
// atlas.db with the v1 schema and seeded data. Never touches an existing atlas.db beyond migrating it.
import fs from 'node:fs';
import { atlasPaths, type AtlasPaths } from './paths';
import { migrateAtlas } from './db/atlas-schema';
import { seedDemo, type SeedResult } from './db/demo-seed';
import { openOpsDb } from './db/ops-db';
import { withDatabase } from './db/sqlite';

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
    seeded = withDatabase(paths.atlasDb, { create: true, wal: true }, (db) => {
      migrateAtlas(db);
      return seedDemo(db, { tasks: options.seedTasks ?? 200 });
    });
    createdAtlasDb = true;
  }
  return { paths, createdAtlasDb, seeded };
}
