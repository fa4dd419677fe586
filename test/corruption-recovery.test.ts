// Corruption recovery end to end: real files corrupted for real, the workflow on the dev server,
// and the invariants: atlas.db passes integrity_check and holds the newest good state, the corrupt
// files are kept, no backup is deleted.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { listBackups, takeSnapshot, type BackupManifest } from '../src/db/snapshot';
import { integrityProblems, openDatabase, rowCounts } from '../src/db/sqlite';
import { singletonId } from '../src/temporal/start';
import { CORRUPTION_RECOVERY } from '../src/workflow-safe/singletons';
import { ActivityContext } from '../activities/deps';
import { reportCorruption } from '../activities/db';
import { attachmentSwappedSignal, attachmentSwappedUpdate, type CorruptionRecoveryResult } from '../workflows/corruption-recovery';
import { abortSignal, statusQuery } from '../workflows/lib/procedure';
import { useAtlas } from './helpers/atlas';
import { eventually, uid } from './helpers/env';
import { corruptLastWalFrame, garbageOverPages, leaveCommitsInWal, marks, truncateFile, zeroHeader } from './helpers/corrupt';

describe('corruptionRecovery', () => {
  let db: string;
  let pristine: string;
  let backup: BackupManifest;
  let liveCounts: Record<string, number>;

  const t = useAtlas({
    seedTasks: 400,
    worker: true,
    async prepare(a) {
      db = path.join(a.home, 'data', 'atlas.db');
      backup = await takeSnapshot({ source: db, backupsDir: path.join(a.home, 'backups'), reason: 'test baseline' });
      // Work done after the backup: Option B loses it, and says how much.
      const conn = openDatabase(db, { wal: true });
      conn.prepare("INSERT INTO errors (at, source, level, message) VALUES ('2026-01-02T00:00:00Z', 'test', 'error', 'after backup')").run();
      liveCounts = rowCounts(conn);
      conn.close();
      pristine = path.join(a.home, 'pristine.db');
      fs.copyFileSync(db, pristine);
    },
  });

  /** Puts the pristine database back and removes what an earlier case left in data/. */
  function reset(): void {
    for (const f of fs.readdirSync(path.dirname(db))) if (f.startsWith('atlas.db')) fs.rmSync(path.join(path.dirname(db), f));
    fs.copyFileSync(pristine, db);
  }

  const recover = (input: Record<string, unknown> = {}) =>
    t.client.workflow.execute('corruptionRecovery', { taskQueue: t.config.taskQueue, workflowId: `recovery-${uid()}`, args: [{ allowOci: false, ...input }] }) as Promise<CorruptionRecoveryResult>;

  function expectSound(): Record<string, number> {
    const conn = openDatabase(db, { readonly: true });
    try {
      expect(integrityProblems(conn)).toEqual([]);
      return rowCounts(conn);
    } finally {
      conn.close();
    }
  }

  const dataFiles = () => fs.readdirSync(path.dirname(db)).filter((f) => f.startsWith('atlas.db'));
  const backupNames = () => listBackups(path.join(t.home, 'backups')).map((b) => b.name);

  for (const [name, corrupt] of [
    ['garbage over interior pages', garbageOverPages],
    ['a truncated file', truncateFile],
    ['a zeroed header', zeroHeader],
  ] as const) {
    it(`restores the newest good backup after ${name} (Option B), keeping the corrupt file`, async () => {
      reset();
      corrupt(db);
      const corruptBytes = fs.readFileSync(db);
      const before = backupNames();
      // Detected 90 minutes after the baseline backup: the data-loss window is exactly that long.
      const detectedAt = new Date(Date.parse(backup.createdAt) + 90 * 60_000).toISOString();
      const r = await recover({ trigger: `test: ${name}`, detectedAt });
      expect(r.outcome).toBe('completed');
    expect(r.found).toBe('corrupt');
      expect(r.method).toBe('B');
      expect(r.initialCheck?.ok).toBe(false);
      expect(r.optionB?.restoredFrom).toBe(backup.file);
      expect(expectSound()).toEqual(backup.rowCounts);
      const kept = dataFiles().find((f) => /^atlas\.db\.corrupted-\d{8}-\d{6}$/.test(f))!;
      expect(kept).toBeDefined();
      expect(fs.readFileSync(path.join(path.dirname(db), kept)).equals(corruptBytes)).toBe(true);
      expect(r.detectedAt).toBe(detectedAt);
      expect(r.optionB?.backupCreatedAt).toBe(backup.createdAt);
      expect(r.optionB?.dataLossWindowMs).toBe(90 * 60_000);
      expect(backupNames()).toEqual(before);
      if (name === 'garbage over interior pages') {
        // The corrupt file is still partly readable: the lost row is counted where it can be.
        expect(Object.keys(r.optionB!.rowsLost)).toContain('errors');
      }
      expect(fs.existsSync(path.join(t.home, 'data', '.maintenance'))).toBe(false);
    });
  }

  it('skips a newer backup that fails integrity_check and restores the newest good one', async () => {
    reset();
    const bad = path.join(t.home, 'backups', 'atlas_29990101-000000.db');
    fs.copyFileSync(path.join(t.home, 'backups', backup.file), bad);
    garbageOverPages(bad, 3);
    try {
      truncateFile(db);
      const r = await recover();
      expect(r.method).toBe('B');
      expect(r.optionB?.restoredFrom).toBe(backup.file);
      expect(r.optionB?.rejected.map((x) => x.name)).toEqual(['atlas_29990101-000000.db']);
      expect(expectSound()).toEqual(backup.rowCounts);
      expect(fs.existsSync(bad)).toBe(true);
      expect(dataFiles().filter((f) => f.includes('.restored'))).toEqual([]);
    } finally {
      fs.rmSync(bad, { force: true });
    }
  });

  it('checkpoints the valid part of a corrupted WAL (Option A), keeping the files as they were', async () => {
    reset();
    leaveCommitsInWal(db, 10);
    corruptLastWalFrame(db);
    const walBefore = fs.readFileSync(`${db}-wal`);
    const r = await recover();
    expect(r.outcome).toBe('completed');
    expect(r.found).toBe('corrupt');
    expect(r.method).toBe('A');
    expect(r.optionA?.ok).toBe(true);
    expectSound();
    // Nine commits survive; the tenth sat in the damaged frame.
    expect(marks(db)).toBe(9);
    const keptWal = dataFiles().find((f) => f.startsWith('atlas.db.pre-checkpoint-') && f.endsWith('-wal'))!;
    expect(fs.readFileSync(path.join(path.dirname(db), keptWal)).equals(walBefore)).toBe(true);
  });

  it('finds a database with its WAL deleted sound, and changes nothing', async () => {
    reset();
    leaveCommitsInWal(db, 5);
    fs.rmSync(`${db}-wal`);
    const r = await recover();
    expect(r.outcome).toBe('completed');
    expect(r.found).toBe('sound');
    expect(r.method).toBe('none');
    expect(expectSound()).toEqual(liveCounts);
    expect(marks(db)).toBe(0);
  });

  it('fails with what to do next when no backup is good, keeping everything', async () => {
    reset();
    const emptyBackups = path.join(t.home, 'backups');
    const hidden = path.join(t.home, `hidden-${uid()}`);
    fs.renameSync(emptyBackups, hidden);
    try {
      zeroHeader(db);
      const err = await recover().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause as { type?: string; message: string };
      expect(cause.type).toBe('RecoveryFailed');
      expect(cause.message).toMatch(/Schedules stay paused/);
      expect(fs.readFileSync(db).subarray(0, 16).every((b) => b === 0)).toBe(true);
      // The flag stays: no sync or backup touches the damaged file.
      expect(fs.existsSync(path.join(t.home, 'data', '.maintenance'))).toBe(true);
    } finally {
      fs.rmSync(path.join(t.home, 'data', '.maintenance'), { force: true });
      fs.rmSync(emptyBackups, { recursive: true, force: true });
      fs.renameSync(hidden, emptyBackups);
    }
  });

  it('refuses attachmentSwapped while no restored volume waits to be swapped in, and ignores (and records) an early signal', async () => {
    reset();
    // backups/ as a file: the assess step fails after its retries and waits for a decision, so the
    // recovery is running but far from Option C's swap.
    const backups = path.join(t.home, 'backups');
    const hidden = path.join(t.home, `hidden-${uid()}`);
    fs.renameSync(backups, hidden);
    fs.writeFileSync(backups, 'not a directory');
    const handle = await t.client.workflow.start('corruptionRecovery', { taskQueue: t.config.taskQueue, workflowId: `recovery-${uid()}`, args: [{ allowOci: false }] });
    try {
      await eventually(async () => (await handle.query(statusQuery)).failedStep?.step === 'assess', 60_000, 'assess waiting for a decision');
      const refused = await handle.executeUpdate(attachmentSwappedUpdate, { args: [{ by: 'early' }] }).catch((e: unknown) => e);
      expect((refused as { cause?: Error }).cause?.message).toMatch(/is not waiting for the volume swap \(phase: assess\)/);
      await handle.signal(attachmentSwappedSignal, { by: 'early' });
      const ignored = await eventually(async () => (await handle.query(statusQuery)).events.find((e) => /ignored attachmentSwapped/.test(e.message)), 60_000, 'the ignored signal recorded');
      expect(ignored).toMatchObject({ actor: 'early', phase: 'assess' });
      await handle.signal(abortSignal, { by: 'test' });
      const r = (await handle.result()) as CorruptionRecoveryResult;
      expect(r.outcome).toBe('aborted');
      expect(r.optionC).toBeUndefined();
    } finally {
      fs.rmSync(backups, { force: true });
      fs.renameSync(hidden, backups);
    }
  });

  it('starts by itself when a backup meets a corrupt database', async () => {
    reset();
    garbageOverPages(db, 4);
    const err = await t.client.workflow
      .execute('backup', { taskQueue: t.config.taskQueue, workflowId: `backup-${uid()}`, args: [{}] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(((err as WorkflowFailedError).cause as { type?: string }).type).toBe('DatabaseCorrupt');
    const id = singletonId(t.config, CORRUPTION_RECOVERY);
    const handle = t.client.workflow.getHandle(id);
    await eventually(() => handle.describe().then(() => true), 60_000, 'automatic corruptionRecovery');
    const r = (await handle.result()) as CorruptionRecoveryResult;
    expect(r.method).toBe('B');
    expect(expectSound()).toEqual(backup.rowCounts);
  });
});

describe('reportCorruption with recovery.onCorruption = alert-only', () => {
  const t = useAtlas({ overrides: { 'recovery.onCorruption': 'alert-only' } });

  it('raises the critical alert and starts nothing', async () => {
    const ctx = new ActivityContext({ config: t.config, client: t.client });
    try {
      const r = await reportCorruption(ctx, Object.assign(new Error('database disk image is malformed'), { code: 'SQLITE_CORRUPT' }), 'atlas.db');
      expect(r.recovery).toBeUndefined();
      const alert = ctx.opsDb().prepare("SELECT level, message FROM alerts WHERE code = 'database-corrupt' AND resolved_at IS NULL").get() as { level: string; message: string };
      expect(alert.level).toBe('critical');
      expect(alert.message).toMatch(/atlas-ops recover corruption/);
      const started = await t.client.workflow.getHandle(singletonId(t.config, CORRUPTION_RECOVERY)).describe().then(() => true, () => false);
      expect(started).toBe(false);
    } finally {
      ctx.close();
    }
  });
});
