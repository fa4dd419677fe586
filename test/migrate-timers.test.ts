// `atlas-ops migrate-timers` against a recording `systemctl` stand-in first on PATH: which timers
// are stopped, disabled and masked, that schedules are applied only after, that --dry-run and a
// host without systemd change nothing, and that a failing systemctl stops before the schedules.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ScheduleNotFoundError } from '@temporalio/client';
import { migrateTimers, NoSystemdError } from '../src/migrate-timers';
import { SCHEDULES, scheduleId } from '../src/schedules';
import { registeredWorkflowTypes } from '../src/cli/commands/schedules';
import { useAtlas } from './helpers/atlas';
import { runCli } from './helpers/env';

// Cron times that do not come during a test run, so no schedule fires a workflow nobody serves.
const RARE = '0 0 29 2 *';
const SCHEDULE_ENV = {
  ATLAS_SCHEDULE_EXPORT: RARE,
  ATLAS_SCHEDULE_IMPORT: RARE,
  ATLAS_SCHEDULE_HEALTH: RARE,
  ATLAS_SCHEDULE_WEEKLY: RARE,
  ATLAS_SCHEDULE_MONTHLY: RARE,
  ATLAS_SCHEDULE_KEY_ROTATION: RARE,
  ATLAS_SCHEDULE_BACKUP: 'off',
};

const UNITS = ['atlas-export.timer enabled', 'atlas-import.timer enabled', 'atlas-backup.timer enabled', 'atlas-health.timer enabled', 'atlas-cleanup.timer enabled'].join('\n');

describe('migrate-timers', () => {
  const t = useAtlas({
    overrides: {
      'schedules.export': RARE,
      'schedules.import': RARE,
      'schedules.health': RARE,
      'schedules.weekly': RARE,
      'schedules.monthly': RARE,
      'schedules.keyRotation': RARE,
      'schedules.backup': 'off',
    },
  });
  let dir: string;
  let log: string;
  let env: NodeJS.ProcessEnv;

  const calls = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []);
  const exists = async (name: string) =>
    t.client.schedule
      .getHandle(scheduleId(t.config, name))
      .describe()
      .then(
        () => true,
        (err: unknown) => {
          if (err instanceof ScheduleNotFoundError) return false;
          throw err;
        },
      );

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-systemctl-'));
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.writeFileSync(path.join(dir, 'units'), `${UNITS}\n`);
    // The stand-in: records every call; lists the units; fails `mask` for the unit in $SYSTEMCTL_FAIL.
    fs.writeFileSync(
      path.join(dir, 'bin', 'systemctl'),
      [
        '#!/bin/sh',
        'echo "$*" >> "$SYSTEMCTL_LOG"',
        'if [ "$1" = list-unit-files ]; then cat "$SYSTEMCTL_UNITS"; fi',
        'if [ "$1" = mask ] && [ "$2" = "$SYSTEMCTL_FAIL" ]; then echo "Failed to mask unit: Access denied" >&2; exit 1; fi',
        'exit 0',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
  });
  beforeEach(() => {
    log = path.join(dir, `calls-${Math.random().toString(36).slice(2)}.log`);
    env = { ...process.env, PATH: `${path.join(dir, 'bin')}${path.delimiter}${process.env.PATH}`, SYSTEMCTL_LOG: log, SYSTEMCTL_UNITS: path.join(dir, 'units'), SYSTEMCTL_FAIL: '' };
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  // Every workflow a schedule starts, but healthCheck: as when a procedure is not implemented yet.
  const allButHealth = new Set(SCHEDULES.map((s) => s.workflowType).filter((w) => w !== 'healthCheck'));
  // What those settings create: every schedule but health (not implemented), backup (off) and
  // oci-backup (no OCI volume configured here).
  const created = SCHEDULES.map((s) => s.name).filter((n) => n !== 'health' && n !== 'backup' && n !== 'oci-backup');

  it('--dry-run lists what it would do and changes nothing', async () => {
    const report = await migrateTimers(undefined, t.config, { dryRun: true, registeredTypes: allButHealth, env });
    expect(calls()).toEqual(['list-unit-files --no-legend --plain --type=timer atlas-*.timer']);
    expect(report.commands).toEqual([
      'systemctl stop atlas-export.timer', 'systemctl disable atlas-export.timer', 'systemctl mask atlas-export.timer',
      'systemctl stop atlas-import.timer', 'systemctl disable atlas-import.timer', 'systemctl mask atlas-import.timer',
    ]);
    expect(report.wouldApply).toEqual(created.map((n) => scheduleId(t.config, n)));
    expect(await exists('export')).toBe(false);
    expect(report.message).toMatch(/nothing was changed/);
  });

  it('stops, disables and masks only the timers a schedule will replace, then applies the schedules', async () => {
    const report = await migrateTimers(t.client, t.config, { registeredTypes: allButHealth, env });
    expect(calls()).toEqual([
      'list-unit-files --no-legend --plain --type=timer atlas-*.timer',
      'stop atlas-export.timer', 'disable atlas-export.timer', 'mask atlas-export.timer',
      'stop atlas-import.timer', 'disable atlas-import.timer', 'mask atlas-import.timer',
    ]);
    const byUnit = Object.fromEntries(report.timers.map((x) => [x.unit, [x.action, x.reason]]));
    expect(byUnit['atlas-backup.timer']).toEqual(['keep', 'schedules.backup is off, so nothing would replace it']);
    expect(byUnit['atlas-health.timer']).toEqual(['keep', 'workflow healthCheck is not implemented by this worker yet']);
    expect(byUnit['atlas-cleanup.timer']?.[0]).toBe('keep');
    expect(report.schedules?.created.sort()).toEqual(created.map((n) => scheduleId(t.config, n)).sort());
    expect(await exists('export')).toBe(true);
    expect(await exists('health')).toBe(false);
    expect(await exists('backup')).toBe(false);
  });

  it('stops before the schedules when systemctl fails, saying what to do', async () => {
    for (const name of created) await t.client.schedule.getHandle(scheduleId(t.config, name)).delete().catch(() => undefined);
    env.SYSTEMCTL_FAIL = 'atlas-import.timer';
    const report = await migrateTimers(t.client, t.config, { registeredTypes: allButHealth, env });
    expect(report.failed).toMatchObject({ command: 'systemctl mask atlas-import.timer', code: 1, stderr: 'Failed to mask unit: Access denied' });
    expect(report.message).toMatch(/Schedules were not applied.*run `atlas-ops migrate-timers` again/);
    expect(report.schedules).toBeUndefined();
    expect(await exists('export')).toBe(false);
  });

  it('the CLI: --dry-run through the real command, then a host without systemd changes nothing', async () => {
    const registered = registeredWorkflowTypes();
    const dry = await runCli(t, ['migrate-timers', '--dry-run'], { ...SCHEDULE_ENV, PATH: env.PATH, SYSTEMCTL_LOG: log, SYSTEMCTL_UNITS: env.SYSTEMCTL_UNITS });
    expect(dry.code).toBe(0);
    expect(calls()).toEqual(['list-unit-files --no-legend --plain --type=timer atlas-*.timer']);
    for (const def of SCHEDULES.filter((s) => s.timer)) {
      const migrates = registered.has(def.workflowType) && def.name !== 'backup';
      expect(dry.stdout).toMatch(new RegExp(`${def.timer!.replace('.', '\\.')} +enabled +${migrates ? 'would migrate' : 'keep'}`));
    }
    expect(dry.stdout).toContain('nothing was changed');

    const empty = fs.mkdtempSync(path.join(dir, 'empty-path-'));
    const none = await runCli(t, ['migrate-timers'], { ...SCHEDULE_ENV, PATH: empty });
    expect(none.code).toBe(1);
    expect(none.stdout).toContain('systemctl is not on PATH: this host has no systemd');
    expect(none.stdout).toContain('Nothing was changed');
    const json = await runCli(t, ['migrate-timers', '--json'], { ...SCHEDULE_ENV, PATH: empty });
    expect(JSON.parse(json.stdout)).toMatchObject({ systemd: false, changed: false });
    for (const def of SCHEDULES) expect(await exists(def.name)).toBe(false);
    await expect(migrateTimers(t.client, t.config, { registeredTypes: allButHealth, env: { PATH: empty } })).rejects.toBeInstanceOf(NoSystemdError);
  });
});
