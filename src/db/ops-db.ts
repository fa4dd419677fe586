// ops.db: atlas-ops' own records (sync runs, alerts, health samples, procedure log, locks).
// Never inside atlas.db, so restoring atlas.db loses none of them. Migrations append only.
import path from 'node:path';
import fs from 'node:fs';
import { openDatabase, type Db } from './sqlite';

const MIGRATIONS: readonly string[] = [
  // v1
  `
  CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('critical','warning','info')),
    message TEXT NOT NULL,
    details TEXT,
    raised_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    occurrences INTEGER NOT NULL DEFAULT 1,
    resolved_at TEXT,
    resolution TEXT,
    notified_at TEXT
  );
  -- one open alert per code: that is the deduplication
  CREATE UNIQUE INDEX alerts_open_code ON alerts(code) WHERE resolved_at IS NULL;
  CREATE TABLE sync_runs (
    id INTEGER PRIMARY KEY,
    direction TEXT NOT NULL CHECK (direction IN ('export','import')),
    workflow_id TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    rows_read INTEGER NOT NULL DEFAULT 0,
    rows_written INTEGER NOT NULL DEFAULT 0,
    api_requests INTEGER NOT NULL DEFAULT 0,
    outcome TEXT NOT NULL,
    error TEXT
  );
  CREATE INDEX sync_runs_started ON sync_runs(started_at);
  CREATE TABLE health_samples (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    metric TEXT NOT NULL,
    value REAL,
    threshold REAL,
    ok INTEGER,
    details TEXT
  );
  CREATE INDEX health_samples_metric_at ON health_samples(metric, at);
  CREATE TABLE procedure_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    procedure TEXT NOT NULL,
    step TEXT NOT NULL,
    actor TEXT,
    message TEXT NOT NULL
  );
  CREATE INDEX procedure_log_workflow ON procedure_log(workflow_id);
  CREATE TABLE locks (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    procedure TEXT NOT NULL,
    acquired_at TEXT NOT NULL
  );
  `,
  // v2: small facts a job keeps between runs (the import's fingerprint of the Approvals tab)
  `
  CREATE TABLE sync_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  `,
  // v3: monitoring — key rotations (read by the security audit) and sent alert digests
  `
  CREATE TABLE key_rotations (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    rotated_at TEXT NOT NULL,
    workflow_id TEXT,
    key_id TEXT,
    account TEXT,
    verified TEXT,
    actor TEXT
  );
  CREATE INDEX key_rotations_key ON key_rotations(key, rotated_at);
  CREATE TABLE alert_digests (
    id INTEGER PRIMARY KEY,
    level TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    window_start TEXT NOT NULL,
    alerts INTEGER NOT NULL,
    delivered INTEGER NOT NULL
  );
  `,
  // v4: the procedure log's key per recorded event (workflow run and activity): a record retried
  // after its worker died finds its row instead of adding a second one
  `
  ALTER TABLE procedure_log ADD COLUMN event_key TEXT;
  CREATE UNIQUE INDEX procedure_log_event_key ON procedure_log(event_key);
  `,
  // v5: which critical alert opened or joined which incident: an alert is handed to an incident
  // once, so a long-lived alert does not reopen one at every health check
  `
  CREATE TABLE incident_alerts (
    alert_id INTEGER PRIMARY KEY REFERENCES alerts(id),
    workflow_id TEXT NOT NULL,
    run_id TEXT,
    at TEXT NOT NULL
  );
  `,
];

export function migrateOps(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/** Opens (creating and migrating when needed) the ops database. */
export function openOpsDb(file: string): Db {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = openDatabase(file, { create: true, wal: true });
  migrateOps(db);
  return db;
}
