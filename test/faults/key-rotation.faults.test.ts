// Fault suite, key rotation: the worker is SIGKILLed before and after each step of the Google key's
// rotation (a fresh worker takes over), and one create's answer is lost after IAM made the key.
// Each run completes once with exactly one new key for the account (none created twice), the new
// key installed (0600), the old key deleted and refused, and at no moment a deleted key installed:
// the emulator's every delete is checked against the credentials file at the moment it happens.
// The same for the OCI API key: one key uploaded, the config switched to it, the old one deleted.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readKeyFile, tryToken, type GoogleKeyFile } from '../../src/google-keys';
import { atlasPaths } from '../../src/paths';
import { profileValue } from '../../src/oci/api-keys';
import type { KeyRotationResult } from '../../workflows/key-rotation';
import { startAtlas, type Atlas } from '../helpers/atlas';
import { spawnWorker, uid } from '../helpers/env';
import { installIssuedKey } from '../helpers/keys';
import { faultWorker, workerDied } from './checks';
import { recordFault } from './report';

const KILL_POINTS = [
  'currentGoogleKey:after',
  'createGoogleKey:before',
  'createGoogleKey:after',
  'verifyGoogleKey:before',
  'verifyGoogleKey#2:after',
  'installGoogleKey:before',
  'installGoogleKey:after',
  'deleteGoogleKey:before',
  'deleteGoogleKey:after',
  'googleKeyRevoked:before',
  'googleKeyRevoked:after',
];

const OCI_KILL_POINTS = [
  'createOciApiKey:before',
  'createOciApiKey:after',
  'installOciApiKey:before',
  'installOciApiKey:after',
  'deleteOciApiKey:before',
  'deleteOciApiKey:after',
];
const OCI_USER = 'ocid1.user.oc1..faults';

const credentials = (home: string) => path.join(atlasPaths(home).configDir, 'sheets-credentials.json');
const ociConfig = (home: string) => path.join(atlasPaths(home).configDir, 'oci', 'config');

/** An OCI CLI config whose key the emulator knows as OCI_USER's API key; returns its fingerprint. */
function installOciKey(t: Atlas): string {
  fs.mkdirSync(path.dirname(ociConfig(t.home)), { recursive: true, mode: 0o700 });
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyFile = path.join(path.dirname(ociConfig(t.home)), 'oci_api_key.pem');
  fs.writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const { fingerprint } = t.oci.addApiKey(OCI_USER, publicKey.export({ type: 'spki', format: 'pem' }).toString());
  fs.writeFileSync(ociConfig(t.home), `[DEFAULT]\nuser=${OCI_USER}\nfingerprint=${fingerprint}\ntenancy=ocid1.tenancy.oc1..test\nregion=eu-frankfurt-1\nkey_file=${keyFile}\n`, { mode: 0o600 });
  return fingerprint;
}

/** Every delete IAM answers, with the key the credentials file held at that moment. */
function watchDeletes(t: Atlas): { deleted: string; installed: string }[] {
  const seen: { deleted: string; installed: string }[] = [];
  const iam = t.sheets.emu.iam;
  const api = iam.api.bind(iam);
  iam.api = (method, pathname, authorization) => {
    const reply = api(method, pathname, authorization);
    if (method === 'DELETE' && reply?.status === 200) seen.push({ deleted: pathname.split('/').pop()!, installed: readKeyFile(credentials(t.home)).private_key_id });
    return reply;
  };
  return seen;
}

/** `orphans`: keys IAM made whose answer was lost (deleted again, never installed). */
async function rotateThrough(fault: string, killPoint: string | undefined, orphans = 0, prepare: (t: Atlas) => void = () => undefined, withOci = false): Promise<void> {
  const t = await startAtlas({ sheets: (a) => ({ credentials: credentials(a.home) }), ...(withOci ? { oci: { volumes: ['ocid1.volume.oc1.emulator.faults'], availableAfterMs: 100, pollInterval: 100 } } : {}) });
  const oldOci = withOci ? installOciKey(t) : undefined;
  const account = `fault-${uid()}@atlas-test.iam.gserviceaccount.com`;
  const old = installIssuedKey(t.sheets.emu, account, credentials(t.home));
  const deletes = watchDeletes(t);
  prepare(t);
  const env = {
    ...t.sheets.env,
    ATLAS_SHEETS_CREDENTIALS: credentials(t.home),
    ...(withOci ? { ATLAS_OCI_ENDPOINT: t.oci.url, ATLAS_OCI_USER_ID: OCI_USER, ATLAS_OCI_CONFIG: ociConfig(t.home) } : {}),
  };
  let survived = false;
  let dataLost = 0;
  const worker = killPoint ? faultWorker(t, env, killPoint) : undefined;
  const plain = killPoint ? undefined : spawnWorker(t, env);
  try {
    const handle = await t.client.workflow.start('keyRotation', { taskQueue: t.config.taskQueue, workflowId: `keyRotation-fault-${uid()}`, args: [{}] });
    if (worker && killPoint) {
      await workerDied(worker.current, killPoint);
      await worker.restarted(killPoint);
    }
    const result = (await handle.result()) as KeyRotationResult;

    expect(result.outcome).toBe('completed');
    const installed = readKeyFile(credentials(t.home));
    expect(result).toMatchObject({ oldKeyId: old.private_key_id, newKeyId: installed.private_key_id });
    expect(fs.statSync(credentials(t.home)).mode & 0o777).toBe(0o600);
    // Exactly one usable key made for the account (the one installed; orphans deleted), the old one deleted once.
    const keys = t.sheets.emu.iam.accountKeys(account);
    expect(keys.filter((k) => !k.deleted)).toEqual([{ id: installed.private_key_id, deleted: false }]);
    expect(keys).toHaveLength(2 + orphans);
    // Never a deleted key installed: the old one went only once the new one was in the file.
    expect(deletes.filter((d) => d.deleted === d.installed)).toEqual([]);
    expect(deletes.map((d) => d.deleted)).toHaveLength(1 + orphans);
    expect(deletes.at(-1)!.deleted).toBe(old.private_key_id);
    expect(await tryToken(installed)).toEqual({ ok: true });
    expect(await tryToken(old as unknown as GoogleKeyFile)).toMatchObject({ ok: false });
    expect(fs.readdirSync(path.join(atlasPaths(t.home).configDir, 'key-rotation'))).toEqual([]);
    if (oldOci) {
      // One OCI key uploaded (the installed one), the old one deleted, never the installed one.
      const installedFingerprint = profileValue(fs.readFileSync(ociConfig(t.home), 'utf8'), 'fingerprint');
      expect(result.oci).toMatchObject({ oldFingerprint: oldOci, fingerprint: installedFingerprint });
      expect(t.oci.apiKeys(OCI_USER).map((k) => [k.fingerprint, k.lifecycleState])).toEqual([[oldOci, 'DELETED'], [installedFingerprint, 'ACTIVE']]);
    }
    // Data lost: the installed key does not work (Sheets would be locked out).
    dataLost = (await tryToken(installed)).ok ? 0 : 1;
    survived = true;
  } finally {
    recordFault({ fault, survived, dataLost });
    worker?.stop();
    plain?.kill('SIGKILL');
    await t.cleanup();
  }
}

describe.concurrent('key rotation under SIGKILL', { timeout: 300_000 }, () => {
  for (const point of KILL_POINTS) {
    it(`creates one key, installs it, deletes the old one only after, when the worker dies at ${point}`, async () => {
      await rotateThrough(`key rotation: SIGKILL ${point}`, point);
    });
  }

  it('deletes the key of a create whose answer was lost, and creates exactly one more', async () => {
    await rotateThrough('key rotation: IAM create answer lost', undefined, 1, (t) => {
      t.sheets.emu.iam.nextCreates.push({ loseResponse: true });
    });
  });

  for (const point of OCI_KILL_POINTS) {
    it(`uploads one OCI API key, switches to it, deletes the old one, when the worker dies at ${point}`, async () => {
      await rotateThrough(`key rotation: SIGKILL ${point}`, point, 0, undefined, true);
    });
  }
});
