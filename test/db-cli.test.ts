// The `atlas-ops db`, `doctor db`, `backup` and `recover corruption` commands, run as the real CLI
// in child processes against a temp Atlas home and the dev server.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listBackups, takeSnapshot } from '../src/db/snapshot';
import { openDatabase, rowCounts } from '../src/db/sqlite';
import { useAtlas } from './helpers/atlas';
import { eventually, REPO, runCli } from './helpers/env';
import { garbageOverPages } from './helpers/corrupt';

describe('atlas-ops db commands', () => {
  let db: string;
  let backupsDir: string;
  let good: string;

  const t = useAtlas({
    worker: true,
    async prepare(a) {
      db = path.join(a.home, 'data', 'atlas.db');
      backupsDir = path.join(a.home, 'backups');
      good = (await takeSnapshot({ source: db, backupsDir, reason: 'cli test' })).file;
    },
  });

  const json = async (args: string[]) => {
    const r = await runCli(t, ['--json', ...args]);
    return { ...r, body: JSON.parse(r.stdout) };
  };

  it('db check, checkpoint and backups report on the real files', async () => {
    const check = await json(['db', 'check']);
    expect(check.code).toBe(0);
    expect(check.body.ok).toBe(true);
    expect(check.body.journalMode).toBe('wal');
    const cp = await json(['db', 'checkpoint']);
    expect(cp.code).toBe(0);
    expect(cp.body.ok).toBe(true);
    const list = await json(['db', 'backups', '--verify']);
    expect(list.code).toBe(0);
    expect(list.body.backups.map((b: { name: string }) => b.name)).toContain(good);
    expect(list.body.backups[0].recheck).toEqual([]);
  });

  it('refuses bad restore input with a clear error and changes nothing', async () => {
    const before = fs.readFileSync(db);
    fs.writeFileSync(path.join(backupsDir, 'atlas_20200101-000000.db'), 'this is not sqlite');
    const broken = path.join(backupsDir, 'atlas_20200102-000000.db');
    fs.copyFileSync(path.join(backupsDir, good), broken);
    garbageOverPages(broken, 2);
    const cases: [string[], RegExp][] = [
      [['db', 'restore', '../data/atlas.db'], /backup: "..\/data\/atlas.db" must be a plain file name/],
      [['db', 'restore', '/etc/passwd'], /must be a plain file name/],
      [['db', 'restore', '..'], /must be a plain file name/],
      [['db', 'restore', good, '--target', '/etc/atlas.db'], /target: "\/etc\/atlas.db" must be a plain file name/],
      [['db', 'restore', good, '--target', 'ops.db'], /--target: "ops.db" is a live database file/],
      [['db', 'restore', good, '--target', 'atlas.db'], /--target: "atlas.db" is a live database file/],
      [['db', 'restore', good, '--target', 'ops.db-wal'], /--target: "ops.db-wal" is a live database file/],
      [['db', 'restore', 'atlas_20200101-000000.db'], /not a SQLite database/],
      [['db', 'restore', 'atlas_20200102-000000.db'], /cannot be restored: .*malformed|cannot be restored/],
      [['db', 'restore', 'atlas_19990101-000000.db'], /is not in/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(t, args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    fs.rmSync(path.join(backupsDir, 'atlas_20200101-000000.db'));
    fs.rmSync(broken);
    const hidden = `${backupsDir}-hidden`;
    fs.renameSync(backupsDir, hidden);
    try {
      const r = await runCli(t, ['db', 'restore', good]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/backups folder .* does not exist/);
    } finally {
      fs.renameSync(hidden, backupsDir);
    }
    expect(fs.readFileSync(db).equals(before)).toBe(true);
  });

  it('the restore workflow refuses a name with "/" or ".." at once (Web UI input)', async () => {
    for (const backup of ['../x.db', 'a/b.db']) {
      const err = await t.client.workflow.execute('restore', { taskQueue: t.config.taskQueue, workflowId: `restore-bad-${Math.random()}`, args: [{ backup }] }).catch((e: unknown) => e);
      const cause = (err as { cause?: { type?: string; message: string } }).cause;
      expect(cause?.type).toBe('InvalidInput');
      expect(cause?.message).toMatch(/^backup: /);
    }
  });

  it('db restore --wait restores a backup and keeps the replaced file', async () => {
    const conn = openDatabase(db, { wal: true });
    conn.prepare("INSERT INTO errors (at, source, level, message) VALUES ('2026-01-01T00:00:00Z', 'test', 'info', 'after backup')").run();
    conn.close();
    const r = await runCli(t, ['db', 'restore', good, '--wait'], {}, 120_000);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const kept = fs.readdirSync(path.dirname(db)).filter((f) => f.startsWith('atlas.db.replaced-'));
    expect(kept.length).toBeGreaterThan(0);
    const conn2 = openDatabase(db, { readonly: true });
    expect(rowCounts(conn2)).toEqual(listBackups(backupsDir).find((b) => b.name === good)!.manifest!.rowCounts);
    conn2.close();
  });

  it('backup --wait takes a verified backup', async () => {
    const before = listBackups(backupsDir).length;
    const r = await runCli(t, ['backup', '--wait', '--keep', '5'], {}, 120_000);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(listBackups(backupsDir).length).toBe(before + 1);
    const bad = await runCli(t, ['backup', '--keep', 'x']);
    expect(bad.code).toBe(2);
  });

  it('doctor db names the processes holding atlas.db open and never kills them', async () => {
    const holder = spawn(process.execPath, ['-e', `const D=require('better-sqlite3');const d=new D(${JSON.stringify(db)});d.prepare('select count(*) from tasks').get();setInterval(()=>{},1000)`], { cwd: REPO, stdio: 'ignore' });
    try {
      const r = await eventually(async () => {
        const res = await json(['doctor', 'db']);
        return res.body.holders?.some((h: { pid: number }) => h.pid === holder.pid) ? res : undefined;
      }, 60_000, 'holder listed');
      expect(r.body.journalMode).toBe('wal');
      expect(r.body.writeLock).toBe('free');
      expect(holder.exitCode).toBeNull();
      expect(() => process.kill(holder.pid!, 0)).not.toThrow();
    } finally {
      const exited = new Promise((r) => holder.once('exit', r));
      holder.kill();
      await exited;
    }
  });

  it('doctor db switches WAL back on when no other process holds the file', async () => {
    const conn = openDatabase(db);
    conn.pragma('journal_mode = DELETE');
    conn.close();
    const r = await json(['doctor', 'db']);
    expect(r.body.walSwitchedOn).toBe(true);
    expect(r.body.journalMode).toBe('wal');
    expect(r.code).toBe(0);
  });

  it('db check on a home without atlas.db says so, exit 2, and recommends no recovery', async () => {
    const empty = fs.mkdtempSync(path.join(path.dirname(t.home), 'atlas-no-db-'));
    try {
      const r = await runCli(t, ['--home', empty, 'db', 'check']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`no atlas.db at ${path.join(empty, 'data', 'atlas.db')}`);
      expect(r.stdout + r.stderr).not.toMatch(/recover corruption/);
      expect(fs.existsSync(path.join(empty, 'data', 'atlas.db'))).toBe(false);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it('recover corruption --wait repairs a corrupted database', async () => {
    garbageOverPages(db, 3);
    const failing = await runCli(t, ['db', 'check']);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toMatch(/FAILS integrity_check/);
    expect(failing.stdout).toMatch(/next: atlas-ops recover corruption/);
    const r = await runCli(t, ['recover', 'corruption', '--no-oci', '--wait'], {}, 120_000);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const check = await json(['db', 'check']);
    expect(check.body.ok).toBe(true);
  });
});
