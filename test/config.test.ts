import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, hostTaskQueue, loadConfig } from '../src/config';
import { formatDuration, parseDuration } from '../src/workflow-safe/duration';

function tempHome(config?: unknown): string {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-config-'));
  if (config !== undefined) {
    fs.mkdirSync(path.join(home, 'config'));
    fs.writeFileSync(path.join(home, 'config', 'atlas-ops.json'), typeof config === 'string' ? config : JSON.stringify(config));
  }
  return home;
}

/** The problems loadConfig reports for `env`, one a line; fails the test when it reports none. */
function problemsOf(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig({ env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.join('\n');
  }
  throw new Error('loadConfig accepted the configuration');
}

describe('durations', () => {
  it('parses the forms operators type', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('2d')).toBe(172_800_000);
    expect(formatDuration(5_400_000)).toBe('1h30m');
  });
  it('names the field in the error', () => {
    expect(() => parseDuration('soon', '--edit-timeout')).toThrow(/--edit-timeout: "soon" is not a duration/);
    expect(() => parseDuration('5', 'x')).toThrow(/x: "5"/);
    expect(() => parseDuration('', 'x')).toThrow(/empty/);
  });
});

describe('configuration', () => {
  it('layers defaults, then the file, then the environment', () => {
    const home = tempHome({ backup: { keep: 3 }, taskQueue: 'from-file', maintenance: { editTimeout: '2h' } });
    const config = loadConfig({ env: { ATLAS_HOME: home, ATLAS_TASK_QUEUE: 'from-env', TEMPORAL_ADDRESS: 'temporal:7233' } });
    expect(config.home).toBe(home);
    expect(config.backup.keep).toBe(3);
    expect(config.taskQueue).toBe('from-env');
    expect(config.maintenance.editTimeout).toBe(7_200_000);
    expect(config.temporal.address).toBe('temporal:7233');
    expect(config.schedules.export).toMatchObject({ kind: 'interval', every: 300_000 });
    expect(config.schedules.backup).toMatchObject({ kind: 'cron', cron: '0 2 * * *' });
    expect(hostTaskQueue({ ...config, host: 'vm1' })).toBe('from-env@vm1');
  });

  it('reports every bad field by name, with its source', () => {
    const home = tempHome({ backup: { keep: 'seven' }, bogus: 1, schedules: { export: 'sometimes' } });
    const text = problemsOf({ ATLAS_HOME: home, ATLAS_ALERT_WEBHOOK_URL: 'ftp://x', ATLAS_EDIT_TIMEOUT: 'soon' });
    expect(text).toMatch(/backup\.keep \(from .*atlas-ops\.json\): "seven" is not a number/);
    expect(text).toMatch(/bogus .*unknown setting/);
    expect(text).toMatch(/schedules\.export .*"sometimes" is not a schedule/);
    expect(text).toMatch(/alerts\.webhookUrl \(from ATLAS_ALERT_WEBHOOK_URL\): "ftp:\/\/x" must be an http\(s\) URL/);
    expect(text).toMatch(/maintenance\.editTimeout \(from ATLAS_EDIT_TIMEOUT\)/);
  });

  it('refuses durations below their minimum (docs/operator-contract.md#bounds), naming the field, the value and the minimum', () => {
    const home = tempHome({ maintenance: { decisionTimeout: 500 } });
    const text = problemsOf({ ATLAS_HOME: home, ATLAS_REMINDER_INTERVAL: '1ms', ATLAS_HOST_QUEUE_TIMEOUT: '10ms' });
    expect(text).toMatch(/maintenance\.reminderInterval \(from ATLAS_REMINDER_INTERVAL\): 1ms is below the minimum of 1s/);
    expect(text).toMatch(/maintenance\.hostQueueTimeout \(from ATLAS_HOST_QUEUE_TIMEOUT\): 10ms is below the minimum of 1s/);
    expect(text).toMatch(/maintenance\.decisionTimeout \(from .*atlas-ops\.json\): 500ms is below the minimum of 1s/);
    expect(loadConfig({ env: { ATLAS_HOME: home, ATLAS_DECISION_TIMEOUT: '1s' } }).maintenance.hostQueueTimeout).toBe(120_000);
  });

  it('refuses an incident threshold below its minimum, and a page that would not come before the stage timeout, naming the fields', () => {
    const home = tempHome({ alerts: { incidentAfter: '30s' } });
    expect(problemsOf({ ATLAS_HOME: home })).toMatch(/alerts\.incidentAfter \(from .*atlas-ops\.json\): 30s is below the minimum of 1m/);
    expect(problemsOf({ ATLAS_HOME: tempHome({}), ATLAS_INCIDENT_STAGE_TIMEOUT: '500ms' })).toMatch(/incident\.stageTimeout \(from ATLAS_INCIDENT_STAGE_TIMEOUT\): 500ms is below the minimum of 1s/);
    expect(problemsOf({ ATLAS_HOME: tempHome({}), ATLAS_INCIDENT_PAGE_AFTER: '2h', ATLAS_INCIDENT_STAGE_TIMEOUT: '1h' })).toMatch(/incident\.pageAfter \(7200000 ms\) must be below incident\.stageTimeout \(3600000 ms\)/);
    const config = loadConfig({ env: { ATLAS_HOME: tempHome({}), ATLAS_INCIDENT_AFTER: '1m' } });
    expect([config.alerts.incidentAfter, config.incident.pageAfter, config.incident.stageTimeout]).toEqual([60_000, 1_800_000, 86_400_000]);
  });

  it('alerts.incidentAfter accepts off (alerts open no incident), from the file or the environment; other durations do not', () => {
    expect(loadConfig({ env: { ATLAS_HOME: tempHome({ alerts: { incidentAfter: 'off' } }) } }).alerts.incidentAfter).toBe('off');
    expect(loadConfig({ env: { ATLAS_HOME: tempHome(), ATLAS_INCIDENT_AFTER: 'off' } }).alerts.incidentAfter).toBe('off');
    // 0 would read as "at once": refused and named, not a second spelling of off.
    expect(problemsOf({ ATLAS_HOME: tempHome(), ATLAS_INCIDENT_AFTER: '0s' })).toMatch(/alerts\.incidentAfter \(from ATLAS_INCIDENT_AFTER\): "0s" is not a duration/);
    expect(problemsOf({ ATLAS_HOME: tempHome(), ATLAS_INCIDENT_AFTER: '30s' })).toMatch(/alerts\.incidentAfter \(from ATLAS_INCIDENT_AFTER\): 30s is below the minimum of 1m/);
    expect(problemsOf({ ATLAS_HOME: tempHome(), ATLAS_INCIDENT_PAGE_AFTER: 'off' })).toMatch(/incident\.pageAfter \(from ATLAS_INCIDENT_PAGE_AFTER\): "off" is not a duration/);
  });

  it('reads app.units as a list from the file or a comma-separated variable, and names a unit that is not one', () => {
    const home = tempHome({ app: { units: ['atlas-agent.service', 'atlas-web.service'] } });
    expect(loadConfig({ env: { ATLAS_HOME: home } }).app.units).toEqual(['atlas-agent.service', 'atlas-web.service']);
    expect(loadConfig({ env: { ATLAS_HOME: home, ATLAS_APP_UNITS: 'a.service, b.service' } }).app.units).toEqual(['a.service', 'b.service']);
    expect(() => loadConfig({ env: { ATLAS_HOME: home, ATLAS_APP_UNITS: 'atlas; rm -rf /' } })).toThrow(/app\.units \(from ATLAS_APP_UNITS\): "atlas; rm -rf \/" is not a list of systemd units/);
  });

  it('reads access.sshKeySources as absolute paths, each with an optional user, resolves diskEmergency.logrotateConfig under the home, and names a bad value', () => {
    const home = tempHome({ access: { sshKeySources: ['/etc/ssh/authorized_keys/ops', 'deploy:/etc/ssh/authorized_keys/../keys/deploy'] } });
    const config = loadConfig({ env: { ATLAS_HOME: home } });
    expect(config.access.sshKeySources).toEqual([{ file: '/etc/ssh/authorized_keys/ops' }, { user: 'deploy', file: '/etc/ssh/keys/deploy' }]);
    expect(config.diskEmergency.logrotateConfig).toBe(path.join(home, 'config', 'logrotate.conf'));
    expect(config.diskEmergency.journalVacuumUnit).toBe('');
    expect(loadConfig({ env: { ATLAS_HOME: home, ATLAS_ACCESS_SSH_KEY_SOURCES: '/a/keys, ops:/b/keys' } }).access.sshKeySources).toEqual([{ file: '/a/keys' }, { user: 'ops', file: '/b/keys' }]);
    expect(loadConfig({ env: { ATLAS_HOME: tempHome() } }).access.sshKeySources).toEqual([]);
    expect(problemsOf({ ATLAS_HOME: home, ATLAS_ACCESS_SSH_KEY_SOURCES: '/a/keys,.ssh/authorized_keys' })).toMatch(/access\.sshKeySources \(from ATLAS_ACCESS_SSH_KEY_SOURCES\): "\.ssh\/authorized_keys" is not an absolute path or user:\/absolute\/path/);
    expect(problemsOf({ ATLAS_HOME: home, ATLAS_ACCESS_SSH_KEY_SOURCES: 'Bad User:/a/keys' })).toMatch(/access\.sshKeySources \(from ATLAS_ACCESS_SSH_KEY_SOURCES\): "Bad User:\/a\/keys" is not an absolute path or user:\/absolute\/path/);
    expect(problemsOf({ ATLAS_HOME: tempHome({ access: { sshKeySources: ['/a/keys', 7] } }) })).toMatch(/access\.sshKeySources \(from .*atlas-ops\.json\): 7 is not an absolute path/);
    expect(problemsOf({ ATLAS_HOME: home, ATLAS_JOURNAL_VACUUM_UNIT: 'journalctl --vacuum-time=1d' })).toMatch(/diskEmergency\.journalVacuumUnit: "journalctl --vacuum-time=1d" is not a systemd service name/);
  });

  it('takes Option C\'s mount and unmount units together, the mount unit a template, and names a bad value', () => {
    const home = tempHome();
    expect(loadConfig({ env: { ATLAS_HOME: home } }).oci).toMatchObject({ mountUnit: '', umountUnit: '' });
    const both = { ATLAS_HOME: home, ATLAS_OCI_MOUNT_UNIT: 'atlas-ops-volume-mount@.service', ATLAS_OCI_UMOUNT_UNIT: 'atlas-ops-volume-umount.service' };
    expect(loadConfig({ env: both }).oci).toMatchObject({ mountUnit: 'atlas-ops-volume-mount@.service', umountUnit: 'atlas-ops-volume-umount.service' });
    expect(problemsOf({ ...both, ATLAS_OCI_MOUNT_UNIT: 'atlas-ops-volume-mount.service' })).toMatch(/oci\.mountUnit: "atlas-ops-volume-mount\.service" is not a template service name/);
    expect(problemsOf({ ...both, ATLAS_OCI_UMOUNT_UNIT: 'umount /' })).toMatch(/oci\.umountUnit: "umount \/" is not a systemd service name/);
    expect(problemsOf({ ATLAS_HOME: home, ATLAS_OCI_UMOUNT_UNIT: 'atlas-ops-volume-umount.service' })).toMatch(/oci\.mountUnit and oci\.umountUnit: give both/);
  });

  // One list for the access review and key rotation: an operator upgrading with the old rotation list must
  // not lose the SSH check silently, so the removed field is refused, naming what replaced it.
  it('refuses the removed keys.sshAuthorizedKeys, in the file or the environment, naming access.sshKeySources', () => {
    const inFile = problemsOf({ ATLAS_HOME: tempHome({ keys: { sshAuthorizedKeys: ['deploy:/etc/ssh/authorized_keys/deploy'] } }) });
    expect(inFile).toMatch(/^keys\.sshAuthorizedKeys \(from .*atlas-ops\.json\): removed, replaced by access\.sshKeySources \(ATLAS_ACCESS_SSH_KEY_SOURCES\): the access review and key rotation read one list of authorized_keys files; move its user:\/path entries there$/);
    expect(inFile).not.toMatch(/unknown setting/);
    const inEnv = problemsOf({ ATLAS_HOME: tempHome(), ATLAS_KEYS_SSH_AUTHORIZED_KEYS: 'deploy:/etc/ssh/authorized_keys/deploy' });
    expect(inEnv).toMatch(/^keys\.sshAuthorizedKeys \(from ATLAS_KEYS_SSH_AUTHORIZED_KEYS\): removed, replaced by access\.sshKeySources \(ATLAS_ACCESS_SSH_KEY_SOURCES\)/);
    // Anything else in a section with no field left is still an unknown setting, named in full.
    expect(problemsOf({ ATLAS_HOME: tempHome({ keys: { other: 1 } }) })).toMatch(/^keys\.other \(from .*\): unknown setting$/);
  });

  it('rejects a config file that is not JSON and a --config that does not exist', () => {
    const home = tempHome('{ nope');
    expect(() => loadConfig({ env: { ATLAS_HOME: home } })).toThrow(/atlas-ops\.json: .*JSON/);
    expect(() => loadConfig({ env: { ATLAS_HOME: home }, configFile: path.join(home, 'missing.json') })).toThrow(/--config: .* does not exist/);
  });
});
