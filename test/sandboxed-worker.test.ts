// The worker as deployed (docs/safety.md#the-worker-as-deployed): the real `atlas-ops worker` as an
// unprivileged user under the filesystem restrictions of deploy/systemd/atlas-ops-worker.service,
// read from the unit and reproduced with bubblewrap (test/helpers/sandbox.ts): the system read-only,
// /root and /home hidden, only the Atlas home and a private /tmp writable. Backup, disk emergency,
// access review, key rotation and a maintenance cycle each work in it, or fail naming the privilege
// they lack. systemctl is a stand-in that allows exactly what deploy/polkit/50-atlas-ops.rules allows;
// logrotate is the real one, with deploy/logrotate/atlas-ops.conf.
import crypto from 'node:crypto';
import { type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { which } from '../src/command-runner';
import { listBackups } from '../src/db/snapshot';
import { atlasPaths } from '../src/paths';
import { JOURNAL_VACUUM_UNIT, LOGROTATE_CONFIG, POLKIT_RULE, VOLUME_MOUNT_UNIT, VOLUME_UMOUNT_UNIT, unitInstance } from '../src/deployed-privileges';
import { decisionSignal, statusQuery, type ProcedureStatus } from '../workflows/lib/procedure';
import { sshKeyInstalledSignal, type KeyRotationResult } from '../workflows/key-rotation';
import { readKeyFile } from '../src/google-keys';
import { startSheetsEmulator, type SheetsEmulator } from '../src/sheets-emulator';
import { installIssuedKey, sshKey } from './helpers/keys';
import { resumeSignal, type MaintenanceResult } from '../workflows/maintenance';
import type { BackupResult } from '../workflows/backup';
import type { DiskEmergencyResult } from '../workflows/disk-emergency';
import type { RoutineResult } from '../workflows/monitoring';
import { useAtlas, type Atlas } from './helpers/atlas';
import { eventually, REPO, uid } from './helpers/env';
import { chownTree, polkitGrants, sandboxUnavailable, unitSandbox, type Sandbox } from './helpers/sandbox';
import { fakeHost } from './helpers/fake-host';
import { SCENE, expectOnlyAtlasDbRolledBack, swapScene, volumeUnitsSystemctl } from './helpers/volume-units';

// Skipped only where the tools are truly missing (.ci/run installs both), saying which.
const unavailable = sandboxUnavailable() ?? (which('logrotate') ? undefined : 'logrotate is not installed (Debian: logrotate)');

/**
 * A `systemctl` that does what systemd does for an unprivileged caller: is-active answers, start and
 * stop succeed only as `<bin>/polkit-allowed` ("unit verb" lines: the installed rule) allows, and are
 * otherwise refused with systemd's own words. Every call is recorded in `<bin>/calls`.
 */
function systemctlStandIn(bin: string): void {
  fs.writeFileSync(
    path.join(bin, 'systemctl'),
    `#!/bin/sh
echo "$*" >> "${bin}/calls"
if [ "$1" = is-active ]; then echo active; exit 0; fi
if grep -qx "$2 $1" "${bin}/polkit-allowed" 2>/dev/null; then exit 0; fi
echo "Failed to $1 $2: Interactive authentication required." >&2
exit 1
`,
    { mode: 0o755 },
  );
}

describe.skipIf(unavailable)(`the worker as deployed (bubblewrap, unprivileged, the unit's restrictions)${unavailable ? `: skipped, ${unavailable}` : ''}`, () => {
  let sandbox: Sandbox;
  let worker: ChildProcess | undefined;
  let bin: string;
  let workerLog: string;
  let hiddenKeys: string;
  let readableKeys: string;
  let fingerprint: string;
  /** Sheets, IAM and the token endpoint for the worker (key rotation); started before it. */
  let emulator: SheetsEmulator;
  const installRule = (grants: Record<string, string[]>) =>
    fs.writeFileSync(path.join(bin, 'polkit-allowed'), Object.entries(grants).flatMap(([unit, verbs]) => verbs.map((v) => `${unit} ${v}\n`)).join(''));

  const t = useAtlas({
    prepare: deploy,
    beforeTeardown: async (a) => {
      for await (const wf of a.client.workflow.list({ query: `TaskQueue = '${a.config.taskQueue}' AND ExecutionStatus = 'Running'` })) {
        await a.client.workflow.getHandle(wf.workflowId).terminate('test cleanup').catch(() => undefined);
      }
    },
  });

  /** Installs as the unit's comments say, then starts the worker in the unit's sandbox. */
  async function deploy(a: Atlas): Promise<void> {
    emulator = await startSheetsEmulator({ file: path.join(a.home, 'sheets-emulator.json') });
    a.defer(() => emulator.close());
    // A key file where sshd keeps them by default, under /home (made first: the sandbox hides what exists).
    fs.mkdirSync('/home', { recursive: true });
    const userDir = fs.mkdtempSync(path.join('/home', `atlas-sandbox-${a.id}-`));
    a.defer(() => fs.rmSync(userDir, { recursive: true, force: true }));
    fs.chmodSync(userDir, 0o755);
    sandbox = unitSandbox('atlas-ops-worker.service', a.home);
    a.defer(() => sandbox.stateDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
    const paths = atlasPaths(a.home);
    // logrotate's configuration from deploy/, its /opt/atlas being this home.
    const conf = fs.readFileSync(path.join(REPO, LOGROTATE_CONFIG), 'utf8').replaceAll('/opt/atlas/', `${a.home}/`);
    fs.writeFileSync(path.join(paths.configDir, 'logrotate.conf'), conf, { mode: 0o640 });
    fs.writeFileSync(paths.log('health'), `${'{"event":"filler"}\n'.repeat(2000)}`);
    // The stand-ins live in the home: the sandbox hides the test's /tmp.
    bin = path.join(a.home, 'test-bin');
    fs.mkdirSync(bin);
    systemctlStandIn(bin);
    installRule(polkitGrants());
    // SSH key sources: a copy the worker's user can read, and the real place under /home the unit hides.
    const pub = `ssh-ed25519 ${crypto.randomBytes(51).toString('base64').slice(0, 68)} ops@sandbox`;
    fingerprint = `SHA256:${crypto.createHash('sha256').update(Buffer.from(pub.split(' ')[1]!, 'base64')).digest('base64').replace(/=+$/, '')}`;
    readableKeys = path.join(paths.configDir, 'ssh', 'authorized_keys');
    fs.mkdirSync(path.dirname(readableKeys));
    fs.writeFileSync(readableKeys, `${pub}\n`, { mode: 0o644 });
    hiddenKeys = path.join(userDir, 'authorized_keys');
    fs.writeFileSync(hiddenKeys, `${pub}\n`, { mode: 0o644 });
    chownTree(a.home, sandbox.account);

    workerLog = path.join(path.dirname(a.home), `sandboxed-worker-${a.id}.log`);
    worker = sandbox.start(
      {
        // worker.env: where Temporal is, this test's queue and host, the Sheets stand-in, the key sources.
        ...a.env,
        // The worker bundles its workflows itself, as deployed (the suite's bundle is in the hidden /tmp).
        ATLAS_WORKFLOW_BUNDLE: '',
        ATLAS_SHEETS_ROOT_URL: emulator.url,
        ATLAS_ACCESS_SSH_KEY_SOURCES: `${readableKeys},${hiddenKeys}`,
      },
      { log: workerLog, path: [bin] },
    );
    const child = worker;
    a.defer(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      if (!process.env.ATLAS_KEEP_TEST_FILES) fs.rmSync(workerLog, { force: true });
    });
  }

  const log = () => (fs.existsSync(workerLog) ? fs.readFileSync(workerLog, 'utf8').slice(-3000) : '(no log)');
  const start = async <T>(type: string, input: Record<string, unknown>) => {
    if (worker?.exitCode !== null) throw new Error(`the sandboxed worker exited ${worker?.exitCode}:\n${log()}`);
    return t.client.workflow.start(type, { taskQueue: t.config.taskQueue, workflowId: `${type}-sandbox-${uid()}`, args: [input] }) as unknown as Promise<{ workflowId: string; result(): Promise<T> }>;
  };
  // A worker that cannot start in the sandbox (its code hidden, a privilege missing) ends the wait at once, with its log.
  const workerExit = () =>
    new Promise<never>((_resolve, reject) => {
      const fail = () => reject(new Error(`the sandboxed worker exited ${worker?.exitCode ?? worker?.signalCode}:\n${log()}`));
      if (worker?.exitCode !== null || worker?.signalCode !== null) fail();
      else worker.once('exit', fail);
    });
  const result = async <T>(h: { result(): Promise<T> }): Promise<T> => {
    try {
      const exit = workerExit();
      exit.catch(() => undefined); // the worker stopped at teardown, after the result: nothing to report
      return await Promise.race([h.result(), exit]);
    } catch (err) {
      if (err instanceof WorkflowFailedError) throw new Error(`${err.message}: ${err.cause?.message}\nworker log:\n${log()}`);
      throw err;
    }
  };
  const status = (id: string) => t.client.workflow.getHandle(id).query(statusQuery);
  const until = (id: string, what: string, ok: (s: ProcedureStatus) => boolean) =>
    eventually(async () => {
      if (worker?.exitCode !== null) throw new Error(`the sandboxed worker exited ${worker?.exitCode}:\n${log()}`);
      const s = await status(id);
      return ok(s) ? s : undefined;
    }, 120_000, `${id}: ${what}`);

  it('reproduces the unit: an unprivileged user, the system read-only, /root and /home hidden, the home writable', () => {
    expect(sandbox.account.uid).toBeGreaterThan(0);
    expect(sandbox.bwrapArgs.join(' ')).toContain(`--bind ${t.home} ${t.home}`);
    expect(sandbox.bwrapArgs.join(' ')).toMatch(/--ro-bind \/ \/.*--tmpfs \/home.*--tmpfs \/root.*--tmpfs \/tmp/);
    expect(sandbox.environment).toMatchObject({ ATLAS_HOME: t.home, ATLAS_JOURNAL_VACUUM_UNIT: JOURNAL_VACUUM_UNIT, ATLAS_OCI_MOUNT_UNIT: VOLUME_MOUNT_UNIT, ATLAS_OCI_UMOUNT_UNIT: VOLUME_UMOUNT_UNIT });
    // StateDirectory=atlas-ops: a folder of the worker's user, bound writable, where Option C's stash defaults to.
    expect(sandbox.bwrapArgs.join(' ')).toContain(`--bind ${sandbox.stateDirs[0]} ${sandbox.stateDirs[0]}`);
    expect(sandbox.environment.ATLAS_OCI_SWAP_STASH).toBe(path.join(sandbox.stateDirs[0]!, 'volume-swap'));
    expect(fs.statSync(sandbox.stateDirs[0]!).uid).toBe(sandbox.account.uid);
  });

  it('backup: snapshot, verification and retention in the home', async () => {
    const r = await result(await start<BackupResult>('backup', { reason: 'sandbox' }));
    expect(r.outcome).toBe('completed');
    const backups = listBackups(atlasPaths(t.home).backupsDir);
    expect(backups.map((b) => b.name)).toContain(r.backup!.file);
    expect(backups.every((b) => b.verified)).toBe(true);
    // Written by the worker's user, not by root.
    expect(fs.statSync(path.join(atlasPaths(t.home).backupsDir, r.backup!.file)).uid).toBe(sandbox.account.uid);
  });

  it('disk emergency: the journal vacuum refused without the polkit rule names it; with the rule every step works, logrotate for real', async () => {
    installRule({});
    const h = await start<DiskEmergencyResult>('diskEmergency', { thresholdPercent: 1, trigger: 'sandbox test' });
    const failed = await until(h.workflowId, 'the vacuum step refused', (s) => s.failedStep?.step === 'vacuum journal');
    expect(failed.failedStep!.errorType).toBe('PrivilegeMissing');
    expect(failed.failedStep!.error).toContain(`may not \`systemctl start ${JOURNAL_VACUUM_UNIT}\` (polkit refused it)`);
    expect(failed.failedStep!.error).toContain(POLKIT_RULE);

    // The rule installed, the operator retries: the vacuum unit is started and the emergency completes.
    installRule(polkitGrants());
    await t.client.workflow.getHandle(h.workflowId).signal(decisionSignal, { decision: 'retry', by: 'dana' });
    const r = await result(h);
    expect(r.outcome).toBe('completed');
    expect(r.steps.map((s) => [s.step, s.skipped])).toEqual([['rotate logs', false], ['prune backups', false], ['vacuum journal', false]]);
    const paths = atlasPaths(t.home);
    expect(r.steps[0]!.details).toEqual([`logrotate -f -s ${paths.logrotateState} ${paths.home}/config/logrotate.conf`]);
    expect(fs.existsSync(`${paths.log('health')}.1`)).toBe(true);
    expect(fs.readFileSync(paths.logrotateState, 'utf8')).toContain(paths.log('health'));
    expect(fs.readFileSync(path.join(bin, 'calls'), 'utf8').trim().split('\n').filter((c) => c.startsWith('start'))).toEqual([`start ${JOURNAL_VACUUM_UNIT}`, `start ${JOURNAL_VACUUM_UNIT}`]);
  });

  it('disk emergency: a logrotate configuration naming a log outside the home is refused by the read-only system, naming it', async () => {
    // A log in /var/log owned by the worker's user: writable to it on the host, read-only under the unit.
    const dir = fs.mkdtempSync('/var/log/atlas-sandbox-');
    t.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
    const outside = path.join(dir, 'app.log');
    fs.writeFileSync(outside, 'a line\n');
    chownTree(dir, sandbox.account);
    const conf = path.join(atlasPaths(t.home).configDir, 'logrotate.conf');
    const shipped = fs.readFileSync(conf, 'utf8');
    fs.writeFileSync(conf, `${shipped}\n${outside} {\n    rotate 2\n}\n`);
    try {
      const h = await start<DiskEmergencyResult>('diskEmergency', { thresholdPercent: 1, trigger: 'sandbox test' });
      const failed = await until(h.workflowId, 'the rotate step refused', (s) => s.failedStep?.step === 'rotate logs');
      expect(failed.failedStep!.errorType).toBe('PrivilegeMissing');
      expect(failed.failedStep!.error).toMatch(/may not write what `logrotate` writes there \(Read-only file system\)/);
      expect(failed.failedStep!.error).toContain(`must rotate only files in ${t.home}/logs (${LOGROTATE_CONFIG})`);
      await t.client.workflow.getHandle(h.workflowId).signal(decisionSignal, { decision: 'skip', by: 'dana' });
      const r = await result(h);
      expect(r.steps.map((s) => [s.step, s.skipped])).toEqual([['rotate logs', true], ['prune backups', false], ['vacuum journal', false]]);
      expect(fs.readdirSync(dir)).toEqual(['app.log']);
    } finally {
      fs.writeFileSync(conf, shipped);
    }
  });

  it('access review: the configured key file is read; one under /home is a finding naming ProtectHome', async () => {
    const r = await result(await start<RoutineResult>('accessReview', {}));
    const report = JSON.parse(fs.readFileSync(r.reports[0]!.files.json, 'utf8')) as { findings: string[]; data: { sshKeys: { file: string; fingerprint: string }[] } };
    expect(report.data.sshKeys).toEqual([expect.objectContaining({ file: readableKeys, fingerprint })]);
    expect(report.findings).toContain(`${hiddenKeys} cannot be read (ENOENT: the deployed worker does not see /root and /home (ProtectHome=); list a copy its user can read in access.sshKeySources): its keys were not reviewed`);
    // Outside the sandbox the same file is there: the unit hid it.
    expect(fs.existsSync(hiddenKeys)).toBe(true);
  });

  it('key rotation: a new key created through IAM, installed in the home (0600) and the old one deleted; the SSH check reads the same sources, the one under /home refused naming ProtectHome', async () => {
    const cred = path.join(atlasPaths(t.home).configDir, 'sheets-credentials.json');
    const old = installIssuedKey(emulator, 'atlas@proj.iam.gserviceaccount.com', cred);
    fs.chownSync(cred, sandbox.account.uid, sandbox.account.gid);
    const h = await start<KeyRotationResult>('keyRotation', {});
    // access.sshKeySources lists SSH key files, so the rotation has an SSH step: a person replaces the key.
    await until(h.workflowId, 'the SSH step', (s) => s.phase === 'ssh' && s.state === 'waiting');
    const shipped = fs.readFileSync(readableKeys, 'utf8');
    const newKey = sshKey('new@sandbox');
    fs.writeFileSync(readableKeys, `${newKey.line}\n`);
    try {
      await t.client.workflow.getHandle(h.workflowId).signal(sshKeyInstalledSignal, { by: 'dana', newFingerprint: newKey.fingerprint, oldFingerprint: fingerprint });
      const failed = await until(h.workflowId, 'the SSH check to fail', (s) => s.failedStep?.step === 'verify SSH keys');
      expect(failed.failedStep!.error).toContain(`${hiddenKeys} cannot be read (ENOENT: the deployed worker does not see /root and /home (ProtectHome=); list a copy its user can read in access.sshKeySources)`);
      expect(failed.failedStep!.error).not.toContain(readableKeys);
      await t.client.workflow.getHandle(h.workflowId).signal(decisionSignal, { decision: 'abort', by: 'dana' });
      const r = await result(h);
      // The Google key was rotated before the SSH step: installed and the old one deleted, whatever the SSH check said.
      expect(r).toMatchObject({ outcome: 'aborted', account: 'atlas@proj.iam.gserviceaccount.com', oldKeyId: old.private_key_id });
      expect(readKeyFile(cred).private_key_id).toBe(r.newKeyId);
      expect(fs.statSync(cred)).toMatchObject({ uid: sandbox.account.uid, mode: expect.any(Number) });
      expect(fs.statSync(cred).mode & 0o777).toBe(0o600);
      expect(emulator.iam.accountKeys('atlas@proj.iam.gserviceaccount.com')).toEqual([{ id: old.private_key_id, deleted: true }, { id: r.newKeyId, deleted: false }]);
    } finally {
      fs.writeFileSync(readableKeys, shipped);
    }
  });

  it('maintenance: start, edit wait, resume, complete', async () => {
    const h = await start<MaintenanceResult>('maintenance', { reason: 'sandbox test' });
    const editing = await until(h.workflowId, 'edit wait', (s) => s.phase === 'edit' && s.state === 'waiting');
    expect(editing.waitingFor).toMatch(/edits/);
    const flag = atlasPaths(t.home).maintenanceFlag;
    expect(fs.statSync(flag).uid).toBe(sandbox.account.uid);
    await t.client.workflow.getHandle(h.workflowId).signal(resumeSignal, { by: 'dana', note: 'no edit' });
    const r = await result(h);
    expect(r.outcome).toBe('completed');
    expect(r.integrity).toEqual({ ok: true, problems: [] });
    expect(fs.existsSync(flag)).toBe(false);
  });
});

describe.skipIf(unavailable)(`Option C's host steps in the worker unit's sandbox${unavailable ? `: skipped, ${unavailable}` : ''}`, () => {
  it('with the deployed settings: the stash in the unit\'s StateDirectory, umount and mount@<uuid> started through systemctl as the rule allows, checked with mountpoint', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-sandbox-swap-'));
    const host = fakeHost();
    swapScene(host, home);
    const sandbox = unitSandbox('atlas-ops-worker.service', home);
    // The units' ExecStart lines, their /opt/atlas this home, run by a systemctl that allows what the rule allows.
    const systemctl = volumeUnitsSystemctl(sandbox.unit.environment().ATLAS_HOME!, home);
    const mountUnit = unitInstance(VOLUME_MOUNT_UNIT, SCENE.newUuid);
    systemctl.allow([VOLUME_UMOUNT_UNIT, mountUnit]);
    for (const d of [home, host.root, systemctl.bin]) chownTree(d, sandbox.account);
    const log = `${home}.log`;
    try {
      const child = sandbox.start(
        { SWAP_DEVICE: SCENE.newDevice },
        { log, path: [systemctl.bin, host.bin], argv: [process.execPath, '--import', 'tsx', path.join(REPO, 'test', 'helpers', 'swap-host-steps.ts')], binds: [host.root, systemctl.bin] },
      );
      await new Promise((resolve) => child.once('exit', resolve));
      const text = fs.readFileSync(log, 'utf8');
      const out = JSON.parse(text.trim().split('\n').at(-1) ?? '{}') as { ok: boolean; message?: string; steps: [string, Record<string, unknown>][] };
      expect(out.ok, text).toBe(true);
      const steps = Object.fromEntries(out.steps);
      const state = sandbox.stateDirs[0]!;
      // The unit's settings reached the configuration; the stash default is the StateDirectory's.
      expect(steps.config).toEqual({ mountPoint: home, swapStashDir: path.join(state, 'volume-swap'), mountUnit: VOLUME_MOUNT_UNIT, umountUnit: VOLUME_UMOUNT_UNIT });
      expect(String(steps.stash!.dir).startsWith(`${state}/volume-swap/`)).toBe(true);
      expect(steps.unmount).toEqual({ unmounted: true });
      expect(steps.mount).toEqual({ uuid: SCENE.newUuid, mounted: true });
      expect(systemctl.calls()).toEqual([`start ${VOLUME_UMOUNT_UNIT}`, `start ${mountUnit}`]);
      expect(host.calls().filter((c) => /^u?mount /.test(c))).toEqual([`umount ${home}`, `mount -o nosuid,nodev UUID=${SCENE.newUuid} ${home}`]);
      // Only atlas.db rolled back; the stash, written by the worker's user, is gone again.
      expectOnlyAtlasDbRolledBack(host, home);
      expect(fs.readdirSync(path.join(state, 'volume-swap'))).toEqual([]);
      expect(fs.statSync(path.join(state, 'volume-swap')).uid).toBe(sandbox.account.uid);
    } finally {
      for (const d of [home, host.root, systemctl.bin, log, ...sandbox.stateDirs]) fs.rmSync(d, { recursive: true, force: true });
    }
  });
});
