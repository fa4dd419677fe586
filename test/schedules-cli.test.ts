// Schedules from the configuration, the schedules CLI, and the CLI's answers to bad input.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { applySchedules, SCHEDULES, scheduleId } from '../src/schedules';
import { loadConfig } from '../src/config';
import { useAtlas } from './helpers/atlas';
import { runCli, schedulePaused } from './helpers/env';

const ALL_TYPES = new Set(SCHEDULES.map((s) => s.workflowType));

describe('schedules', () => {
  const t = useAtlas();

  it('applies every schedule of docs/architecture.md#schedules from the configuration, idempotently, keeping paused state', async () => {
    const first = await applySchedules(t.client, t.config, ALL_TYPES);
    // Every schedule but oci-backup: this home configures no OCI volume, so it is skipped, saying why.
    expect(first.created.sort()).toEqual(SCHEDULES.filter((s) => s.name !== 'oci-backup').map((s) => scheduleId(t.config, s.name)).sort());
    expect(first.skipped).toEqual([{ id: scheduleId(t.config, 'oci-backup'), reason: 'oci.volumeId is not set (no volume to back up)' }]);
    expect(scheduleId(loadConfig({ env: {} }), 'export')).toBe('atlas-export');

    const exportId = scheduleId(t.config, 'export');
    const d = await t.client.schedule.getHandle(exportId).describe();
    expect(d.policies.overlap).toBe('SKIP');
    expect(d.spec.intervals?.[0]?.every).toBe(300_000);
    expect((d.action as { workflowType: string }).workflowType).toBe('sheetsExport');
    expect((d.action as { taskQueue: string }).taskQueue).toBe(t.config.taskQueue);

    // The monthly routine runs on the first Friday of the month at 09:00.
    const monthly = await t.client.schedule.getHandle(scheduleId(t.config, 'monthly')).describe();
    expect(monthly.info.nextActionTimes.length).toBeGreaterThan(0);
    for (const at of monthly.info.nextActionTimes) {
      expect(at.getUTCDay()).toBe(5);
      expect(at.getUTCDate()).toBeLessThanOrEqual(7);
      expect(at.getUTCHours()).toBe(9);
    }
    // The warning digest runs on business days only (the runbook's "Warning (Next Business Day)"): the next
    // ten actions span at least one weekend, and none of them falls on a Saturday or a Sunday.
    const digest = await t.client.schedule.getHandle(scheduleId(t.config, 'alerts-digest')).describe();
    expect(digest.info.nextActionTimes.length).toBeGreaterThanOrEqual(6);
    const digestDays = new Set(digest.info.nextActionTimes.map((at) => at.getUTCDay()));
    expect([...digestDays].sort()).toEqual([1, 2, 3, 4, 5]);
    for (const at of digest.info.nextActionTimes) expect(at.getUTCHours()).toBe(9);
    const backup = await t.client.schedule.getHandle(scheduleId(t.config, 'backup')).describe();
    expect(backup.info.nextActionTimes[0]!.getUTCHours()).toBe(2);

    // Pausing from the CLI survives a second apply.
    const paused = await runCli(t, ['schedules', 'pause', 'export', '--note', 'testing']);
    expect(paused.code, paused.stderr).toBe(0);
    const second = await applySchedules(t.client, t.config, ALL_TYPES);
    expect(second.created).toEqual([]);
    expect(second.updated).toHaveLength(SCHEDULES.length - 1);
    expect(await schedulePaused(t, 'export')).toEqual({ paused: true, note: 'testing' });

    const list = await runCli(t, ['--json', 'schedules', 'list']);
    const rows = JSON.parse(list.stdout) as { id: string; paused: boolean }[];
    expect(rows.find((r) => r.id === exportId)?.paused).toBe(true);
    expect(rows).toHaveLength(SCHEDULES.length - 1);

    expect((await runCli(t, ['schedules', 'unpause', exportId])).code).toBe(0);
    expect((await schedulePaused(t, 'export')).paused).toBe(false);
  });

  it('a schedule set to "off" is removed, and a workflow this worker lacks gets no schedule', async () => {
    const config = { ...t.config, schedules: { ...t.config.schedules, weekly: { kind: 'off' as const, text: 'off' } } };
    await applySchedules(t.client, t.config, ALL_TYPES);
    const result = await applySchedules(t.client, config, new Set(['sheetsExport']));
    expect(result.deleted).toEqual([scheduleId(t.config, 'weekly')]);
    expect(result.skipped.map((s) => s.id)).toContain(scheduleId(t.config, 'import'));
  });

  it('trigger starts a run now', async () => {
    await applySchedules(t.client, t.config, ALL_TYPES);
    const res = await runCli(t, ['schedules', 'trigger', 'health']);
    expect(res.code, res.stderr).toBe(0);
    const d = await t.client.schedule.getHandle(scheduleId(t.config, 'health')).describe();
    expect(d.info.numActionsTaken).toBeGreaterThanOrEqual(1);
  });

  it('names an unknown schedule', async () => {
    const res = await runCli(t, ['schedules', 'pause', 'nightly']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/schedule: "nightly" is not one of export, import, backup/);
  });
});

describe('CLI bad input', () => {
  it('unknown flags and values exit 2 and say what is wrong', async () => {
    const flag = await runCli(undefined, ['maintenance', 'start', '--frobnicate']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("unknown option '--frobnicate'");
    const duration = await runCli(undefined, ['maintenance', 'start', '--edit-timeout', 'two hours']);
    expect(duration.code).toBe(2);
    expect(duration.stderr).toContain('--edit-timeout: "two hours" is not a duration');
    const decision = await runCli(undefined, ['decide', 'some-id', 'maybe']);
    expect(decision.code).toBe(2);
    expect(decision.stderr).toContain('decision: "maybe" is not one of retry, skip, rollback, abort');
  });

  it('an unreachable Temporal server is named with how to start one', async () => {
    const res = await runCli(undefined, ['maintenance', 'start'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(res.code).toBe(4);
    expect(res.stderr).toContain('cannot reach the Temporal server at 127.0.0.1:1');
    expect(res.stderr).toContain('npm start');
  });

  it('an Atlas home that does not exist, and an atlas.db that is not SQLite, change nothing', async () => {
    const missing = path.join(os.tmpdir(), `atlas-missing-${Date.now()}`);
    const res = await runCli(undefined, ['--home', missing, 'demo', 'seed']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`home: ${missing} does not exist`);
    expect(fs.existsSync(missing)).toBe(false);

    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-notsqlite-'));
    fs.mkdirSync(path.join(home, 'data'));
    fs.writeFileSync(path.join(home, 'data', 'atlas.db'), 'hello, not a database\n');
    const bad = await runCli(undefined, ['--home', home, 'demo', 'seed']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/atlas\.db is not a SQLite database/);
    expect(fs.readFileSync(path.join(home, 'data', 'atlas.db'), 'utf8')).toBe('hello, not a database\n');
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('a bad configuration file names the field', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-badconf-'));
    fs.mkdirSync(path.join(home, 'config'));
    fs.writeFileSync(path.join(home, 'config', 'atlas-ops.json'), JSON.stringify({ backup: { keep: 0 } }));
    const res = await runCli(undefined, ['--home', home, 'schedules', 'list']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/backup\.keep .* below the minimum 1/);
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('demo seed refuses while the maintenance flag is set, naming its holder, and writes nothing', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-seed-flag-'));
    const first = await runCli(undefined, ['--home', home, 'demo', 'seed', '--tasks', '10']);
    expect(first.code, first.stderr).toBe(0);
    const db = path.join(home, 'data', 'atlas.db');
    const flag = path.join(home, 'data', '.maintenance');
    fs.writeFileSync(flag, `${JSON.stringify({ workflowId: 'maintenance-test-1', reason: 'editing by hand', since: new Date().toISOString() })}\n`);
    const before = fs.readFileSync(db);
    const res = await runCli(undefined, ['--home', home, 'demo', 'seed', '--tasks', '10']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`${flag} is set (maintenance-test-1: editing by hand): only the procedure holding it may write atlas.db`);
    expect(fs.readFileSync(db).equals(before)).toBe(true);
    expect(fs.existsSync(`${db}-wal`) ? fs.statSync(`${db}-wal`).size : 0).toBe(0);
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('seeds a demo database with --json output', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-seed-'));
    const res = await runCli(undefined, ['--home', home, '--json', 'demo', 'seed', '--tasks', '50']);
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out.tasks).toBe(50);
    expect(out.atlasDb).toBe(path.join(home, 'data', 'atlas.db'));
    fs.rmSync(home, { recursive: true, force: true });
  });
});
