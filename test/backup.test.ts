// The scheduled backup: retention rules, ENOSPC on a real small filesystem, and the `backup`
// workflow end to end on the dev server with real files.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { planRetention, pruneBackups } from '../src/db/retention';
import { SCHEDULES } from '../src/schedules';
import { ALL_SCHEDULES } from '../src/workflow-safe/schedule-names';
import { listBackups, manifestPath, newestFirst, takeSnapshot, SnapshotError, type BackupEntry } from '../src/db/snapshot';
import { openDatabase } from '../src/db/sqlite';
import { openOpsDb } from '../src/db/ops-db';
import { useAtlas } from './helpers/atlas';
import { uid } from './helpers/env';
import { canMountTmpfs, fillFile, mountTmpfs } from './helpers/tmpfs';

const entry = (name: string, verified: boolean): BackupEntry => ({ name, path: `/b/${name}`, size: 1, verified });

describe('schedule names', () => {
  it('ALL_SCHEDULES (what corruption recovery pauses) is every schedule of SCHEDULES', () => {
    expect(SCHEDULES.map((s) => s.name).sort()).toEqual([...ALL_SCHEDULES].sort());
  });
});

describe('listBackups order', () => {
  it('puts later backups of the same second first (atlas_X-2.db after atlas_X.db, -10 after -9)', () => {
    const names = ['atlas_20260101-000000.db', 'atlas_20260101-000000-2.db', 'atlas_20260101-000000-10.db', 'atlas_20260101-000000-9.db', 'atlas_20251231-235959.db'];
    expect([...names].sort(newestFirst)).toEqual(['atlas_20260101-000000-10.db', 'atlas_20260101-000000-9.db', 'atlas_20260101-000000-2.db', 'atlas_20260101-000000.db', 'atlas_20251231-235959.db']);
  });
});

describe('planRetention', () => {
  it('keeps the N newest verified backups and removes older ones', () => {
    const backups = ['atlas_20260105-000000.db', 'atlas_20260104-000000.db', 'atlas_20260103-000000.db', 'atlas_20260102-000000.db'].map((n) => entry(n, true));
    const plan = planRetention(backups, 2);
    expect(plan.keep.map((b) => b.name)).toEqual(['atlas_20260105-000000.db', 'atlas_20260104-000000.db']);
    expect(plan.remove.map((b) => b.name)).toEqual(['atlas_20260103-000000.db', 'atlas_20260102-000000.db']);
  });

  it('never removes a backup newer than the newest verified one, nor the only verified one', () => {
    const backups = [entry('atlas_20260105-000000.db', false), entry('atlas_20260104-000000.db', true), entry('atlas_20260103-000000.db', false)];
    const plan = planRetention(backups, 1);
    expect(plan.keep.map((b) => b.name)).toEqual(['atlas_20260105-000000.db', 'atlas_20260104-000000.db']);
    expect(plan.reasons['atlas_20260105-000000.db']).toMatch(/newer than the newest verified/);
    // An older unverified file never counted as a backup.
    expect(plan.remove.map((b) => b.name)).toEqual(['atlas_20260103-000000.db']);
  });

  it('removes nothing when no backup is verified, and refuses keep < 1', () => {
    const backups = [entry('atlas_20260105-000000.db', false), entry('atlas_20260104-000000.db', false)];
    expect(planRetention(backups, 1).remove).toEqual([]);
    expect(() => planRetention(backups, 0)).toThrow(/keep: 0/);
  });
});

describe('snapshots and retention on real files', () => {
  const t = useAtlas();

  it('prunes real backups with their manifests, keeping the newest verified', async () => {
    const dir = path.join(t.home, `prune-${uid()}`);
    for (let i = 1; i <= 4; i++) {
      await takeSnapshot({ source: path.join(t.home, 'data', 'atlas.db'), backupsDir: dir, reason: 'test', now: new Date(Date.UTC(2026, 0, i)) });
    }
    const dry = await pruneBackups(dir, 2, { dryRun: true });
    expect(dry.removed).toHaveLength(2);
    expect(listBackups(dir)).toHaveLength(4);
    const done = await pruneBackups(dir, 2);
    expect(done.removed).toEqual(['atlas_20260102-000000.db', 'atlas_20260101-000000.db']);
    expect(done.bytesFreed).toBeGreaterThan(0);
    expect(listBackups(dir).map((b) => b.name)).toEqual(['atlas_20260104-000000.db', 'atlas_20260103-000000.db']);
    expect(fs.existsSync(manifestPath(path.join(dir, 'atlas_20260101-000000.db')))).toBe(false);
  });

  it('a backup without a manifest is integrity-checked before retention may delete it: kept and reported when it fails, removed when it passes', async () => {
    const dir = path.join(t.home, `nomanifest-${uid()}`);
    for (let i = 3; i <= 5; i++) {
      await takeSnapshot({ source: path.join(t.home, 'data', 'atlas.db'), backupsDir: dir, reason: 'test', now: new Date(Date.UTC(2026, 0, i)) });
    }
    const verifiedCopy = path.join(dir, 'atlas_20260105-000000.db');
    // Older than every verified backup, no manifest: a sound copy, a copy with its pages overwritten, and text.
    const sound = path.join(dir, 'atlas_20260101-000000.db');
    fs.copyFileSync(verifiedCopy, sound);
    const damaged = path.join(dir, 'atlas_20260102-000000.db');
    const bytes = fs.readFileSync(verifiedCopy);
    const pageSize = bytes.readUInt16BE(16);
    expect(bytes.length).toBeGreaterThan(2 * pageSize);
    bytes.fill(0xa5, pageSize);
    fs.writeFileSync(damaged, bytes);
    const text = path.join(dir, 'atlas_20251231-000000.db');
    fs.writeFileSync(text, 'not a database\n');
    expect(listBackups(dir).filter((b) => !b.manifest).map((b) => b.name)).toEqual(['atlas_20260102-000000.db', 'atlas_20260101-000000.db', 'atlas_20251231-000000.db']);

    const dry = await pruneBackups(dir, 2, { dryRun: true });
    const done = await pruneBackups(dir, 2);
    for (const r of [dry, done]) {
      expect(r.removed).toEqual(['atlas_20260103-000000.db', 'atlas_20260101-000000.db']);
      expect(r.keptUnverifiable.map((u) => u.name)).toEqual(['atlas_20260102-000000.db', 'atlas_20251231-000000.db']);
      expect(r.kept).toEqual(['atlas_20260105-000000.db', 'atlas_20260104-000000.db', 'atlas_20260102-000000.db', 'atlas_20251231-000000.db']);
    }
    expect(done.keptUnverifiable[1]!.problem).toMatch(/not a SQLite database|not a database/i);
    expect(fs.existsSync(sound)).toBe(false);
    expect(fs.readFileSync(damaged)).toEqual(bytes);
    expect(fs.readFileSync(text, 'utf8')).toBe('not a database\n');
    // Idempotent: the next run checks the two again and keeps them again.
    expect((await pruneBackups(dir, 2)).removed).toEqual([]);
  });

  it('removes the copy a killed backup left behind once it is stale, never a live one', async () => {
    const dir = path.join(t.home, `partials-${uid()}`);
    fs.mkdirSync(dir);
    const stale = path.join(dir, '.atlas_20260101-000000.db.partial');
    const live = path.join(dir, '.atlas_20260102-000000.db.partial');
    fs.writeFileSync(stale, Buffer.alloc(4096));
    fs.writeFileSync(live, Buffer.alloc(4096));
    const old = new Date(Date.now() - 11 * 60_000);
    fs.utimesSync(stale, old, old);
    const r = await pruneBackups(dir, 2);
    expect(r.stalePartials).toEqual(['.atlas_20260101-000000.db.partial']);
    expect(r.bytesFreed).toBe(4096);
    expect(fs.existsSync(stale)).toBe(false);
    expect(fs.existsSync(live)).toBe(true);
  });

  it.skipIf(!canMountTmpfs())('ENOSPC during a backup leaves no partial file counted as a backup', async () => {
    // A 2 MB source database and a 4 MB filesystem with about 1 MB free.
    const source = path.join(t.home, `big-${uid()}.db`);
    const db = openDatabase(source, { create: true, wal: true });
    db.exec('CREATE TABLE blob (id INTEGER PRIMARY KEY, data BLOB)');
    const insert = db.prepare('INSERT INTO blob (data) VALUES (randomblob(4000))');
    db.transaction(() => {
      for (let i = 0; i < 500; i++) insert.run();
    })();
    db.close();
    const small = mountTmpfs(4 << 20);
    try {
      fillFile(path.join(small.dir, 'filler'), 3 << 20);
      const backupsDir = path.join(small.dir, 'backups');
      const err = await takeSnapshot({ source, backupsDir, reason: 'enospc test' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SnapshotError);
      expect((err as SnapshotError).message).toMatch(/disk full/);
      expect(listBackups(backupsDir)).toEqual([]);
      expect(fs.readdirSync(backupsDir).filter((f) => f.includes('partial') || f.endsWith('-journal'))).toEqual([]);
      // After space is freed the next backup works and is verified.
      fs.rmSync(path.join(small.dir, 'filler'));
      await takeSnapshot({ source, backupsDir, reason: 'after cleanup' });
      expect(listBackups(backupsDir).map((b) => b.verified)).toEqual([true]);
    } finally {
      small.unmount();
    }
  });
});

describe('backup workflow', () => {
  const t = useAtlas({ overrides: { 'backup.keep': 2 }, worker: true });

  const run = (input: unknown, id = `backup-${uid()}`) =>
    t.client.workflow.execute('backup', { taskQueue: t.config.taskQueue, workflowId: id, args: [input] });

  it('takes a verified backup, logs it, and keeps the configured number', async () => {
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await run({}));
    const last = results.at(-1) as { outcome: string; backup: { file: string }; retention: { removed: string[]; kept: string[] } };
    expect(last.outcome).toBe('completed');
    const backups = listBackups(t.config.home + '/backups');
    expect(backups).toHaveLength(2);
    expect(backups.every((b) => b.verified)).toBe(true);
    expect(backups[0]!.name).toBe(last.backup.file);
    expect(last.retention.removed).toHaveLength(1);
    const log = fs.readFileSync(path.join(t.home, 'logs', 'backup.log'), 'utf8');
    expect(log).toContain('"event":"backup-verified"');
    expect(log).toContain('"event":"retention"');
  });

  it('input keep overrides the configuration', async () => {
    const r = (await run({ keep: 1 })) as { retention: { kept: string[] } };
    expect(r.retention.kept).toHaveLength(1);
    expect(listBackups(path.join(t.home, 'backups'))).toHaveLength(1);
  });

  it('retention keeps an old backup without a manifest that fails integrity_check, in the result, the log and a warning alert', async () => {
    const junk = path.join(t.home, 'backups', 'atlas_20000101-000000.db');
    fs.writeFileSync(junk, 'not a database\n');
    const r = (await run({ keep: 1 })) as { retention: { kept: string[]; removed: string[]; keptUnverifiable: { name: string; problem: string }[] } };
    expect(r.retention.keptUnverifiable.map((u) => u.name)).toEqual(['atlas_20000101-000000.db']);
    expect(r.retention.kept).toContain('atlas_20000101-000000.db');
    expect(fs.readFileSync(junk, 'utf8')).toBe('not a database\n');
    expect(fs.readFileSync(path.join(t.home, 'logs', 'backup.log'), 'utf8')).toContain('"keptUnverifiable":[{"name":"atlas_20000101-000000.db"');
    const ops = openOpsDb(path.join(t.home, 'data', 'ops.db'));
    try {
      const alert = ops.prepare("SELECT level, message FROM alerts WHERE code = 'backup-unverifiable' AND resolved_at IS NULL").get() as { level: string; message: string } | undefined;
      expect(alert).toMatchObject({ level: 'warning', message: expect.stringContaining('atlas_20000101-000000.db') });
    } finally {
      ops.close();
    }
    fs.rmSync(junk);
  });

  it('skips with a record while the maintenance flag exists', async () => {
    const before = listBackups(path.join(t.home, 'backups')).map((b) => b.name);
    fs.writeFileSync(path.join(t.home, 'data', '.maintenance'), JSON.stringify({ workflowId: 'maintenance-x', reason: 'edit' }));
    try {
      const r = (await run({})) as { outcome: string; skippedBecause: string };
      expect(r.outcome).toBe('skipped');
      expect(r.skippedBecause).toMatch(/maintenance-x/);
      expect(listBackups(path.join(t.home, 'backups')).map((b) => b.name)).toEqual(before);
      expect(fs.readFileSync(path.join(t.home, 'logs', 'backup.log'), 'utf8')).toContain('"event":"backup-skipped"');
    } finally {
      fs.rmSync(path.join(t.home, 'data', '.maintenance'));
    }
  });

  it('rejects bad input at once, naming the field', async () => {
    for (const [input, field] of [[{ keep: 0 }, 'keep'], [{ oci: 'yes' }, 'oci'], [{ kep: 3 }, 'kep']] as const) {
      const err = await run(input).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause as { type?: string; message: string };
      expect(cause.type).toBe('InvalidInput');
      expect(cause.message.startsWith(`${field}:`)).toBe(true);
    }
  });
});
