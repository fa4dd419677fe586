// Builds an Atlas database of a given size for benchmarks: the real schema, seeded tasks and
// approvals, padded with error rows until the file reaches the size asked for.
import fs from 'node:fs';
import { migrateAtlas } from '../../src/db/atlas-schema';
import { seedDemo } from '../../src/db/demo-seed';
import { openDatabase } from '../../src/db/sqlite';

export function makeAtlasDb(file: string, megabytes: number): number {
  fs.rmSync(file, { force: true });
  const db = openDatabase(file, { create: true, wal: true });
  try {
    migrateAtlas(db);
    seedDemo(db, { tasks: 2000 });
    const insert = db.prepare('INSERT INTO errors (at, source, level, message) VALUES (?, ?, ?, ?)');
    const pad = 'x'.repeat(900);
    const target = megabytes * 1024 * 1024;
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    while ((db.pragma('page_count', { simple: true }) as number) * pageSize < target) {
      db.transaction(() => {
        for (let i = 0; i < 20_000; i++) insert.run(new Date().toISOString(), 'bench', 'info', `${pad}${i}`);
      })();
    }
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  return fs.statSync(file).size;
}

export function timeIt<T>(fn: () => T): { ms: number; value: T } {
  const t0 = performance.now();
  const value = fn();
  return { ms: performance.now() - t0, value };
}

export async function timeAsync<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

export const mb = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MB`;
export const arg = (name: string, fallback: number): number => {
  const found = process.argv.find((a) => a.startsWith(`--${name}=`));
  return found ? Number(found.split('=')[1]) : fallback;
};
