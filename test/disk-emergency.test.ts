// The disk emergency on a real small filesystem: the Atlas home is moved onto a 32 MB tmpfs that
// the test fills. Figures come from statfs of that filesystem, nothing is simulated.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listBackups, takeSnapshot } from '../src/db/snapshot';
import { openDatabase } from '../src/db/sqlite';
import { diskUsage } from '../src/disk';
import { ActivityContext } from '../activities/deps';
import { createDiskActivities } from '../activities/disk';
import type { DiskEmergencyResult } from '../workflows/disk-emergency';
import { useAtlas } from './helpers/atlas';
import { runCli, uid } from './helpers/env';
import { canMountTmpfs, fillFile } from './helpers/tmpfs';

const MB = 1 << 20;

describe.skipIf(!canMountTmpfs())('diskEmergency on a 32 MB tmpfs', () => {
  let backupsDir: string;
  let newestVerified: string;
  let stand: string;
  const savedPath = process.env.PATH;

  const t = useAtlas({ worker: true, prepare: fillTheDisk });

  async function fillTheDisk(): Promise<void> {
    // Move the home onto the tmpfs: copy it aside, mount over it, copy it back.
    const aside = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-aside-'));
    fs.cpSync(t.home, aside, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${32 * MB}`, 'tmpfs', t.home]);
    t.defer(() => execFileSync('umount', ['-l', t.home]));
    fs.cpSync(aside, t.home, { recursive: true });
    fs.rmSync(aside, { recursive: true, force: true });

    // A 2 MB atlas.db and six verified 2 MB backups.
    const db = openDatabase(path.join(t.home, 'data', 'atlas.db'), { wal: true });
    db.exec('CREATE TABLE IF NOT EXISTS ballast (id INTEGER PRIMARY KEY, data BLOB)');
    db.transaction(() => {
      for (let i = 0; i < 480; i++) db.prepare('INSERT INTO ballast (data) VALUES (randomblob(4000))').run();
    })();
    db.close();
    backupsDir = path.join(t.home, 'backups');
    for (let d = 1; d <= 6; d++) {
      newestVerified = (await takeSnapshot({ source: path.join(t.home, 'data', 'atlas.db'), backupsDir, reason: 'test', now: new Date(Date.UTC(2026, 0, d)) })).file;
    }
    // Rotated logs (6 MB) and a current one.
    fillFile(path.join(t.home, 'logs', 'health.log.2'), 4 * MB);
    fillFile(path.join(t.home, 'logs', 'export.log.1'), 2 * MB);
    fillFile(path.join(t.home, 'logs', 'export.log'), MB / 2);
    // Fill up to about 94 %.
    const u = diskUsage(t.home);
    fillFile(path.join(t.home, 'data', 'other-app-data'), Math.max(0, Math.floor(0.94 * (u.usedBytes + u.availableBytes)) - u.usedBytes));

    // journalctl stand-in first on PATH: records its arguments (the in-process worker reads PATH at call time).
    stand = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-bin-'));
    fs.writeFileSync(path.join(stand, 'journalctl'), `#!/bin/sh\necho "$@" >> ${stand}/calls\necho "Vacuuming done, freed 0B of archived journals." >&2\n`, { mode: 0o755 });
    process.env.PATH = `${stand}:${savedPath}`;
    t.defer(() => {
      process.env.PATH = savedPath;
      fs.rmSync(stand, { recursive: true, force: true });
    });
  }

  const run = (input: Record<string, unknown>) =>
    t.client.workflow.execute('diskEmergency', { taskQueue: t.config.taskQueue, workflowId: `disk-${uid()}`, args: [input] }) as Promise<DiskEmergencyResult>;

  // atlas-ops' own records (ops.db, procedures.log) grow with any procedure; everything else must not change.
  const listing = () =>
    ['logs', 'backups', 'data']
      .flatMap((d) => fs.readdirSync(path.join(t.home, d)).map((f) => `${d}/${f}`))
      .filter((f) => !f.startsWith('data/ops.db') && f !== 'logs/procedures.log')
      .sort();

  it('--dry-run says what each step would free and changes nothing', async () => {
    const before = listing();
    const usedBefore = diskUsage(t.home).usedPercent;
    expect(usedBefore).toBeGreaterThan(90);
    const r = await run({ dryRun: true, thresholdPercent: 70 });
    expect(r.dryRun).toBe(true);
    expect(r.steps.map((s) => s.step)).toEqual(['rotate logs', 'prune backups']);
    expect(r.steps[0]!.claimedBytes).toBe(6 * MB);
    expect(r.steps[1]!.claimedBytes).toBeGreaterThan(5 * MB);
    expect(r.notNeeded).toEqual(['vacuum journal']);
    expect(listing()).toEqual(before);
    expect(fs.existsSync(path.join(stand, 'calls'))).toBe(false);
  });

  it('frees space step by step, measured, and stops under the threshold', async () => {
    const r = await run({ thresholdPercent: 70 });
    expect(r.before!.usedPercent).toBeGreaterThan(90);
    expect(r.steps.map((s) => s.step)).toEqual(['rotate logs', 'prune backups']);
    // Measured on the filesystem: rotation frees the 6 MB of rotated logs, pruning three 2 MB backups.
    expect(r.steps[0]!.freedBytes).toBeGreaterThanOrEqual(6 * MB - 64 * 1024);
    expect(r.steps[0]!.usedPercentAfter).toBeGreaterThan(70);
    expect(r.steps[1]!.freedBytes).toBeGreaterThan(5 * MB);
    expect(r.notNeeded).toEqual(['vacuum journal']);
    expect(r.underThreshold).toBe(true);
    expect(r.after!.usedPercent).toBeLessThan(70);
    expect(diskUsage(t.home).usedPercent).toBeLessThan(70);
    const left = listBackups(backupsDir);
    expect(left).toHaveLength(3);
    expect(left[0]!.name).toBe(newestVerified);
    expect(left.every((b) => b.verified)).toBe(true);
    expect(fs.existsSync(path.join(t.home, 'logs', 'health.log.2'))).toBe(false);
  });

  it('runs every step and raises a critical alert with the figures when still above', async () => {
    const r = await run({ thresholdPercent: 10 });
    expect(r.steps.map((s) => s.step)).toEqual(['rotate logs', 'prune backups', 'vacuum journal']);
    expect(r.underThreshold).toBe(false);
    expect(fs.readFileSync(path.join(stand, 'calls'), 'utf8').trim()).toBe('--vacuum-time=1d');
    // Never below the newest verified backup.
    expect(listBackups(backupsDir)[0]!.name).toBe(newestVerified);
    const ops = openDatabase(path.join(t.home, 'data', 'ops.db'), { readonly: true });
    const alert = ops.prepare("SELECT level, message FROM alerts WHERE code = 'disk-emergency' AND resolved_at IS NULL").get() as { level: string; message: string };
    ops.close();
    expect(alert.level).toBe('critical');
    expect(alert.message).toMatch(/still [\d.]+% used/);
    expect(alert.message).toMatch(/extend the OCI block volume/);
  });

  it('starts by itself (once) above the critical threshold, for the health check', async () => {
    const used = diskUsage(t.home).usedPercent;
    const ctx = new ActivityContext({ config: { ...t.config, thresholds: { ...t.config.thresholds, diskCriticalPercent: Math.floor(used) - 1 } }, client: t.client });
    try {
      const acts = createDiskActivities(ctx);
      const first = await acts.diskEmergencyIfCritical({ trigger: 'test: disk above critical' });
      expect(first.started).toBe(`${t.config.scheduleIdPrefix}disk-emergency`);
      const r = (await t.client.workflow.getHandle(first.started!).result()) as DiskEmergencyResult;
      expect(r.outcome).toBe('completed');
      const calm = new ActivityContext({ config: t.config, client: t.client });
      expect((await createDiskActivities(calm).diskEmergencyIfCritical({ trigger: 'test' })).started).toBeUndefined();
      calm.close();
    } finally {
      ctx.close();
    }
  });

  it('the CLI starts it as a singleton and refuses a bad threshold', async () => {
    const bad = await runCli(t, ['disk-emergency', '--threshold', '200']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--threshold: 200/);
    const r = await runCli(t, ['--json', 'disk-emergency', '--dry-run', '--wait'], { PATH: process.env.PATH }, 120_000);
    expect(r.code, r.stderr).toBe(0);
    const body = JSON.parse(r.stdout) as { workflowId: string; result: DiskEmergencyResult };
    expect(body.workflowId).toBe(`${t.config.scheduleIdPrefix}disk-emergency`);
    expect(body.result.dryRun).toBe(true);
  });
});
