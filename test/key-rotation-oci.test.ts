// keyRotation's OCI API key through the real oci-identity client against the OCI emulator: a new
// key uploaded, the OCI config file switched to it (key_file and fingerprint, 0600), the old key
// deleted and its file removed; fingerprints as OCI computes them (checked against openssl); a
// config file of another user refused, with nothing uploaded or deleted.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ociFingerprint, profileValue } from '../src/oci/api-keys';
import { atlasPaths } from '../src/paths';
import { decisionSignal, statusQuery } from '../workflows/lib/procedure';
import type { KeyRotationResult } from '../workflows/key-rotation';
import { useAtlas } from './helpers/atlas';
import { eventually, uid } from './helpers/env';
import { installIssuedKey } from './helpers/keys';

const USER = 'ocid1.user.oc1..keyrotation';
const ociDir = (home: string) => path.join(atlasPaths(home).configDir, 'oci');
const credentials = (home: string) => path.join(atlasPaths(home).configDir, 'sheets-credentials.json');

const t = useAtlas({
  oci: { volumes: ['ocid1.volume.oc1.emulator.keys'], availableAfterMs: 100, pollInterval: 100 },
  sheets: (a) => ({ credentials: credentials(a.home) }),
  workerConfig: (config) => ({ ...config, oci: { ...config.oci, userId: USER, configFile: path.join(ociDir(config.home), 'config') } }),
  worker: true,
});

/** An OCI CLI config for `user` with a key the emulator knows as that user's API key. */
function installOciKey(user: string): { keyFile: string; fingerprint: string } {
  fs.mkdirSync(ociDir(t.home), { recursive: true, mode: 0o700 });
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyFile = path.join(ociDir(t.home), `old-${uid()}.pem`);
  fs.writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const fingerprint = t.oci.addApiKey(USER, publicKey.export({ type: 'spki', format: 'pem' }).toString()).fingerprint;
  fs.writeFileSync(path.join(ociDir(t.home), 'config'), `[DEFAULT]\nuser=${user}\nfingerprint=${fingerprint}\ntenancy=ocid1.tenancy.oc1..test\nregion=eu-frankfurt-1\nkey_file=${keyFile}\n`, { mode: 0o600 });
  return { keyFile, fingerprint };
}

const activeFingerprints = () => t.oci.apiKeys(USER).filter((k) => k.lifecycleState === 'ACTIVE').map((k) => k.fingerprint);

describe('keyRotation: OCI API key', { timeout: 180_000 }, () => {
  it('computes the fingerprint as OCI documents it (openssl md5 -c of the DER public key)', () => {
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const der = crypto.createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
    const expected = execFileSync('openssl', ['md5', '-c'], { input: der, encoding: 'utf8' }).trim().split(/\s+/).pop();
    expect(ociFingerprint(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString())).toBe(expected);
  });

  it('uploads a new key, switches the config file to it, deletes the old one', async () => {
    installIssuedKey(t.sheets.emu, `oci-${uid()}@atlas-test.iam.gserviceaccount.com`, credentials(t.home));
    const old = installOciKey(USER);
    const result = (await t.client.workflow.execute('keyRotation', { taskQueue: t.config.taskQueue, workflowId: `keyRotation-oci-${uid()}`, args: [{}] })) as KeyRotationResult;
    expect(result.outcome).toBe('completed');
    expect(result.oci).toMatchObject({ userId: USER, oldFingerprint: old.fingerprint });
    const config = fs.readFileSync(path.join(ociDir(t.home), 'config'), 'utf8');
    expect(profileValue(config, 'fingerprint')).toBe(result.oci!.fingerprint);
    expect(profileValue(config, 'tenancy')).toBe('ocid1.tenancy.oc1..test');
    const keyFile = profileValue(config, 'key_file')!;
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(ociFingerprint(crypto.createPublicKey(fs.readFileSync(keyFile, 'utf8')))).toBe(result.oci!.fingerprint);
    expect(activeFingerprints()).toEqual([result.oci!.fingerprint]);
    expect(fs.existsSync(old.keyFile)).toBe(false);
    expect(t.oci.requests.filter((r) => r === `POST /20160918/users/${USER}/apiKeys`)).toHaveLength(1);
  });

  it('refuses an OCI config file of another user, naming it: nothing uploaded, nothing deleted', async () => {
    installIssuedKey(t.sheets.emu, `oci-${uid()}@atlas-test.iam.gserviceaccount.com`, credentials(t.home));
    const old = installOciKey('ocid1.user.oc1..someoneelse');
    const before = activeFingerprints();
    const handle = await t.client.workflow.start('keyRotation', { taskQueue: t.config.taskQueue, workflowId: `keyRotation-oci-other-${uid()}`, args: [{}] });
    const failed = await eventually(async () => (await handle.query(statusQuery)).failedStep, 60_000, 'the OCI step to fail');
    expect(failed).toMatchObject({ step: 'upload the new OCI API key', errorType: 'KeyInvalid' });
    expect(failed.error).toContain(`its [DEFAULT] user is ocid1.user.oc1..someoneelse, not oci.userId ${USER}`);
    await handle.signal(decisionSignal, { decision: 'abort', by: 'test' });
    expect(await handle.result()).toMatchObject({ outcome: 'aborted' });
    expect(activeFingerprints()).toEqual(before);
    expect(fs.existsSync(old.keyFile)).toBe(true);
  });
});
