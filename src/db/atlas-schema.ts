// The Atlas schema (docs/architecture.md#atlasdb-schema) and its migrations, tracked by PRAGMA user_version.
// atlas-ops ships them so that a demo home and the tests have a realistic atlas.db.
import type { Db } from './sqlite';

const MIGRATIONS: readonly string[] = [
  // v1
  `
  CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    agent TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued','running','waiting_approval','completed','failed')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    completed_at TEXT
  );
  CREATE INDEX tasks_status ON tasks(status);
  CREATE TABLE approvals (
    id TEXT PRIMARY KEY,
    task_id TEXT NOT NULL REFERENCES tasks(id),
    summary TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending','approved','rejected','expired')),
    decided_at TEXT,
    decided_by TEXT,
    note TEXT
  );
  CREATE INDEX approvals_status ON approvals(status);
  CREATE TABLE errors (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    source TEXT NOT NULL,
    level TEXT NOT NULL,
    message TEXT NOT NULL,
    resolved_at TEXT
  );
  CREATE INDEX errors_at ON errors(at);
  CREATE TABLE patterns (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    adopted_at TEXT
  );
  `,
];

/** Applies the missing migrations in one transaction each; returns the versions applied. */
export function migrateAtlas(db: Db): number[] {
  const applied: number[] = [];
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`atlas.db has schema version ${current}, newer than this atlas-ops knows (${MIGRATIONS.length})`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
    applied.push(v + 1);
  }
  return applied;
}
