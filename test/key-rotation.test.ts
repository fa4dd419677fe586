// keyRotation end to end through the real googleapis IAM client and google-auth-library's token
// grant, against the Sheets emulator's IAM and token endpoint (which check JWT signatures against
// the keys they issued): the new key created, verified, installed (0600), the old one deleted and
// refused; a wrong key refused; IAM answers that are no new key of the account refused with nothing
// deleted; the SSH step verified in the configured authorized_keys (fail, fixed, pass); and no key
// material in the history, result or logs.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openOpsDb } from '../src/db/ops-db';
import { tryToken, readKeyFile, type GoogleKeyFile } from '../src/google-keys';
import { atlasPaths } from '../src/paths';
import { runReport } from '../src/reports';
import type { CreateOverride } from '../src/sheets-emulator/iam';
import { sshFingerprint } from '../src/ssh-keys';
import { ensureDevKey } from '../src/sheets-emulator';
import { decisionSignal, statusQuery } from '../workflows/lib/procedure';
import type { KeyRotationResult } from '../workflows/key-rotation';
import { useAtlas } from './helpers/atlas';
import { eventually, runCli, uid } from './helpers/env';
import { decodedHistory } from './helpers/history';
import { installIssuedKey, secretPieces, sshKey } from './helpers/keys';

const credentials = (home: string) => path.join(atlasPaths(home).configDir, 'sheets-credentials.json');
const authorizedKeys = (home: string, user: string) => path.join(home, 'ssh', user, 'authorized_keys');

const t = useAtlas({
  prepare: (a) => {
    for (const user of ['atlas', 'deploy']) fs.mkdirSync(path.dirname(authorizedKeys(a.home, user)), { recursive: true });
  },
  sheets: (a) => ({ credentials: credentials(a.home) }),
  workerConfig: (config) => ({ ...config, access: { ...config.access, sshKeySources: ['atlas', 'deploy'].map((user) => ({ user, file: authorizedKeys(config.home, user) })) } }),
  worker: true,
});

/** A fresh account with an issued key installed: each test rotates its own. */
function freshAccount(): { account: string; key: Record<string, string> } {
  const account = `rot-${uid()}@atlas-test.iam.gserviceaccount.com`;
  return { account, key: installIssuedKey(t.sheets.emu, account, credentials(t.home)) };
}

const liveKeys = (account: string) => t.sheets.emu.iam.accountKeys(account).filter((k) => !k.deleted).map((k) => k.id);
const cli = (args: string[]) => runCli(t, args, { ...t.sheets.env, ATLAS_SHEETS_CREDENTIALS: credentials(t.home) });

describe('keyRotation', { timeout: 180_000 }, () => {
  it('creates, verifies and installs a new key, deletes the old one (refused after), then checks the SSH key; no secret in history', async () => {
    const { account, key: old } = freshAccount();
    const ssh = { oldKey: sshKey('old'), newKey: sshKey('new') };
    for (const user of ['atlas', 'deploy']) fs.writeFileSync(authorizedKeys(t.home, user), `${ssh.oldKey.line}\n`);
    const refusedBefore = t.sheets.emu.iam.grants.refused;

    const start = await cli(['--json', 'key-rotation', 'start']);
    expect(start.code, start.stderr).toBe(0);
    const id = JSON.parse(start.stdout).workflowId as string;
    const handle = t.client.workflow.getHandle(id);
    await eventually(async () => (await handle.query(statusQuery)).phase === 'ssh', 60_000, 'the SSH step');

    // The Google key is rotated before the SSH step: one new key, the old one deleted and refused.
    const installed = readKeyFile(credentials(t.home));
    expect(installed.private_key_id).not.toBe(old.private_key_id);
    expect(fs.statSync(credentials(t.home)).mode & 0o777).toBe(0o600);
    expect(liveKeys(account)).toEqual([installed.private_key_id]);
    expect(await tryToken(installed)).toEqual({ ok: true });
    const stale = await tryToken(old as unknown as GoogleKeyFile);
    expect(stale).toMatchObject({ ok: false, status: 400 });
    expect(stale.ok === false && stale.refusal).toMatch(/invalid_grant/);
    expect(t.sheets.emu.iam.grants.refused).toBeGreaterThanOrEqual(refusedBefore + 2);
    // Nothing left in staging: the old key's kept copy went once it was refused.
    expect(fs.readdirSync(path.join(atlasPaths(t.home).configDir, 'key-rotation'))).toEqual([]);

    // SSH: signalled done while deploy still has the old key: the step fails naming user and file.
    fs.writeFileSync(authorizedKeys(t.home, 'atlas'), `${ssh.newKey.line}\n`);
    fs.writeFileSync(authorizedKeys(t.home, 'deploy'), `${ssh.oldKey.line}\n${ssh.newKey.line}\n`);
    const signalled = await cli(['key-rotation', 'ssh-installed', id, '--new', ssh.newKey.fingerprint, '--old', ssh.oldKey.fingerprint, '--by', 'dana']);
    expect(signalled.code, signalled.stderr).toBe(0);
    const failed = await eventually(async () => (await handle.query(statusQuery)).failedStep, 60_000, 'the SSH check to fail');
    expect(failed.step).toBe('verify SSH keys');
    expect(failed.error).toContain(`user deploy: the old key ${ssh.oldKey.fingerprint} is still in ${authorizedKeys(t.home, 'deploy')}`);
    expect(failed.error).not.toContain('user atlas');
    fs.writeFileSync(authorizedKeys(t.home, 'deploy'), `# rotated\ncommand="true",no-pty ${ssh.newKey.line}\n`);
    await handle.signal(decisionSignal, { decision: 'retry', by: 'dana' });

    const result = (await handle.result()) as KeyRotationResult;
    expect(result).toMatchObject({ outcome: 'completed', account, oldKeyId: old.private_key_id, newKeyId: installed.private_key_id });
    expect(result.revocation).toMatch(/refused old key .*invalid_grant/);
    expect(result.ssh).toMatchObject({ newFingerprint: ssh.newKey.fingerprint, installedBy: 'dana' });
    expect(result.ssh!.checked).toHaveLength(2);

    const ops = openOpsDb(atlasPaths(t.home).opsDb);
    try {
      expect(ops.prepare("SELECT key FROM key_rotations WHERE workflow_id = ? ORDER BY key").pluck().all(id)).toEqual(['sheets', 'ssh']);
      const audit = await runReport('security', { config: t.config, paths: atlasPaths(t.home), ops, now: new Date() });
      expect(audit.data.checks).toEqual(expect.arrayContaining([expect.objectContaining({ check: 'Sheets key age', ok: true, detail: expect.stringContaining('0 days since the last recorded rotation') })]));
    } finally {
      ops.close();
    }

    const history = decodedHistory(await handle.fetchHistory());
    expect(history).toContain(account);
    expect(history).not.toContain('PRIVATE KEY');
    const logs = fs.readdirSync(atlasPaths(t.home).logsDir).map((f) => fs.readFileSync(path.join(atlasPaths(t.home).logsDir, f), 'utf8')).join('\n');
    for (const piece of [...secretPieces(old.private_key!), ...secretPieces(installed.private_key)]) {
      expect(history.includes(piece), 'key material in the history').toBe(false);
      expect(logs.includes(piece), 'key material in the logs').toBe(false);
    }
  });

  it('the token endpoint refuses a key it never issued, even for a known account and key id', async () => {
    const { key } = freshAccount();
    const wrong = { ...key, private_key: crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
    const answer = await tryToken(wrong as unknown as GoogleKeyFile);
    expect(answer).toMatchObject({ ok: false, status: 400 });
    expect(answer.ok === false && answer.refusal).toMatch(/invalid_grant: Invalid JWT Signature/);
    expect(await tryToken(key as unknown as GoogleKeyFile)).toEqual({ ok: true });
  });

  // IAM answers that are no new key of the account: the step fails naming what, and after abort the
  // installed file is unchanged, the old key still valid, and the key IAM made deleted again.
  const refusals: [string, (old: Record<string, string>) => CreateOverride, RegExp][] = [
    ['an answer without privateKeyData', () => ({ omitPrivateKeyData: true }), /answered without privateKeyData/],
    ['the current key again', (old) => ({ keyFile: old }), /is the current key again \(key id [0-9a-f]{40}\)/],
    ['a key file of another service account', () => ({ keyFile: t.sheets.emu.iam.issueKey('intruder@other.iam.gserviceaccount.com') }), /is a key of intruder@other\.iam\.gserviceaccount\.com, not of rot-/],
  ];
  for (const [what, override, message] of refusals) {
    it(`refuses ${what}: a clear error, nothing deleted, nothing installed`, async () => {
      const { account, key: old } = freshAccount();
      const before = fs.readFileSync(credentials(t.home), 'utf8');
      t.sheets.emu.iam.nextCreates.push(override(old));
      const handle = await t.client.workflow.start('keyRotation', { taskQueue: t.config.taskQueue, workflowId: `keyRotation-refused-${uid()}`, args: [{}] });
      const failed = await eventually(async () => (await handle.query(statusQuery)).failedStep, 60_000, 'the create step to fail');
      expect(failed).toMatchObject({ step: 'create the new key', errorType: 'KeyInvalid' });
      expect(failed.error).toMatch(message);
      expect(failed.error).toContain(`installed key ${old.private_key_id} is unchanged`);
      await handle.signal(decisionSignal, { decision: 'abort', by: 'test' });
      expect(await handle.result()).toMatchObject({ outcome: 'aborted', oldKeyId: old.private_key_id });
      expect(fs.readFileSync(credentials(t.home), 'utf8')).toBe(before);
      expect(liveKeys(account)).toEqual([old.private_key_id]);
      expect(await tryToken(old as unknown as GoogleKeyFile)).toEqual({ ok: true });
    });
  }

  it('atlas-ops dev issues its key from the emulator once, and points a key it issued at this run\'s token endpoint', async () => {
    const file = path.join(t.home, 'dev-key', 'sheets-credentials.json');
    expect(ensureDevKey(t.sheets.emu, file)).toBe('issued');
    const issued = readKeyFile(file);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(await tryToken(issued)).toEqual({ ok: true });
    // An earlier run's port: rewritten to this one, the key itself kept.
    fs.writeFileSync(file, JSON.stringify({ ...issued, token_uri: 'http://127.0.0.1:1/token' }), { mode: 0o600 });
    expect(ensureDevKey(t.sheets.emu, file)).toBe('kept');
    expect(readKeyFile(file)).toEqual({ ...issued, token_uri: `${t.sheets.emu.url}token` });
    // A production key (Google's token URL) is never touched.
    const google = JSON.stringify({ ...issued, token_uri: 'https://oauth2.googleapis.com/token' });
    fs.writeFileSync(file, google, { mode: 0o600 });
    ensureDevKey(t.sheets.emu, file);
    expect(fs.readFileSync(file, 'utf8')).toBe(google);
  });

  it('computes SSH fingerprints as ssh-keygen -lf does', () => {
    const k = sshKey('fp');
    expect(sshFingerprint(k.line.split(' ')[1]!)).toBe(k.fingerprint);
  });
});
