// `atlas-ops demo seed`: realistic Atlas data for a demo home, benchmarks and tests.
// Deterministic for a given seed, so a test can know its answers.
import fs from 'node:fs';
import { migrateAtlas } from './atlas-schema';
import { withDatabase, type Db } from './sqlite';

const AGENTS = ['planner', 'researcher', 'coder', 'reviewer', 'ops-bot'];
const VERBS = ['Draft', 'Review', 'Refactor', 'Summarise', 'Migrate', 'Triage', 'Publish'];
const OBJECTS = ['release notes', 'billing module', 'onboarding doc', 'incident report', 'test plan', 'API client', 'weekly digest'];
const SOURCES = ['export', 'import', 'agent', 'scheduler', 'api'];

export interface SeedOptions {
  tasks?: number;
  /** Share of tasks that wait for approval (their approval is pending). */
  pendingShare?: number;
  now?: Date;
  seed?: number;
}

export interface SeedResult {
  tasks: number;
  approvals: number;
  pending: number;
  errors: number;
  patterns: number;
}

/** A small deterministic PRNG (mulberry32), so seeded data is reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function seedDemo(db: Db, options: SeedOptions = {}): SeedResult {
  const n = options.tasks ?? 200;
  const pendingShare = options.pendingShare ?? 0.15;
  const now = (options.now ?? new Date()).getTime();
  const rand = prng(options.seed ?? 42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const iso = (ms: number) => new Date(ms).toISOString();
  const result: SeedResult = { tasks: 0, approvals: 0, pending: 0, errors: 0, patterns: 0 };

  const insertTask = db.prepare(
    'INSERT INTO tasks (id, title, agent, status, created_at, updated_at, completed_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const insertApproval = db.prepare(
    'INSERT INTO approvals (id, task_id, summary, requested_at, status, decided_at, decided_by, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const insertError = db.prepare('INSERT INTO errors (at, source, level, message, resolved_at) VALUES (?, ?, ?, ?, ?)');
  const insertPattern = db.prepare('INSERT INTO patterns (id, name, created_at, adopted_at) VALUES (?, ?, ?, ?)');
  const base = db.prepare('SELECT count(*) FROM tasks').pluck().get() as number;

  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const id = `T-${String(base + i + 1).padStart(6, '0')}`;
      const created = now - Math.floor(rand() * 30 * 86_400_000);
      const title = `${pick(VERBS)} ${pick(OBJECTS)}`;
      const agent = pick(AGENTS);
      const r = rand();
      const waiting = r < pendingShare;
      const status = waiting ? 'waiting_approval' : r < 0.75 ? 'completed' : r < 0.85 ? 'failed' : r < 0.93 ? 'running' : 'queued';
      const completed = status === 'completed' ? created + Math.floor(rand() * 6 * 3_600_000) : null;
      insertTask.run(id, title, agent, status, iso(created), iso(completed ?? created), completed === null ? null : iso(completed));
      result.tasks++;
      if (waiting || (status === 'completed' && rand() < 0.4)) {
        const requested = created + 60_000;
        const decided = waiting ? null : requested + Math.floor(rand() * 8 * 3_600_000);
        insertApproval.run(
          `A-${String(base + i + 1).padStart(6, '0')}`,
          id,
          `${agent} asks to ${title.toLowerCase()}`,
          iso(requested),
          waiting ? 'pending' : rand() < 0.85 ? 'approved' : 'rejected',
          decided === null ? null : iso(decided),
          decided === null ? null : pick(['dana@example.com', 'lee@example.com', 'sam@example.com']),
          null,
        );
        result.approvals++;
        if (waiting) result.pending++;
      }
    }
    const errors = Math.max(1, Math.floor(n / 10));
    for (let i = 0; i < errors; i++) {
      const at = now - Math.floor(rand() * 14 * 86_400_000);
      const resolved = rand() < 0.8 ? iso(at + Math.floor(rand() * 30 * 3_600_000)) : null;
      insertError.run(iso(at), pick(SOURCES), rand() < 0.2 ? 'error' : 'warning', `demo error ${i + 1}`, resolved);
      result.errors++;
    }
    const patterns = Math.max(1, Math.floor(n / 40));
    const existingPatterns = db.prepare('SELECT count(*) FROM patterns').pluck().get() as number;
    for (let i = 0; i < patterns; i++) {
      const created = now - Math.floor(rand() * 60 * 86_400_000);
      const adopted = rand() < 0.6 ? iso(created + Math.floor(rand() * 7 * 86_400_000)) : null;
      insertPattern.run(`P-${String(existingPatterns + i + 1).padStart(4, '0')}`, `pattern ${existingPatterns + i + 1}`, iso(created), adopted);
      result.patterns++;
    }
  })();
  return result;
}

/**
 * Grows a real Atlas database (created with the schema and demo data when missing) with error rows
 * until the file is about `megabytes`: for benchmarks and tests that need a large file.
 */
export function padAtlasDb(file: string, megabytes: number): number {
  withDatabase(file, { create: true, wal: true }, (db) => {
    migrateAtlas(db);
    if ((db.prepare('SELECT count(*) FROM tasks').pluck().get() as number) === 0) seedDemo(db, { tasks: 2000 });
    const insert = db.prepare('INSERT INTO errors (at, source, level, message, resolved_at) VALUES (?, ?, ?, ?, ?)');
    const pad = 'x'.repeat(900);
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const target = megabytes * 1024 * 1024;
    let n = 0;
    while ((db.pragma('page_count', { simple: true }) as number) * pageSize < target) {
      db.transaction(() => {
        for (let i = 0; i < 20_000; i++) insert.run('2026-01-01T00:00:00.000Z', 'bulk', 'info', `${pad}${n++}`, '2026-01-01T01:00:00.000Z');
      })();
    }
    // FULL, not TRUNCATE: no checkpoint of atlas-ops resets a WAL Litestream may be reading
    // (docs/safety.md#checkpoints-and-swaps); the close right after removes the WAL anyway.
    db.pragma('wal_checkpoint(FULL)');
  });
  return fs.statSync(file).size;
}
