// Quarterly Sheets key rotation: remind, wait for the new key to be installed, verify it with a
// real Sheets auth, ask for the old key to be revoked, record the date for the security audit.
// Only facts about the key (account, fingerprint) pass through here, never the key.
import { defineSignal, setHandler } from '@temporalio/workflow';
import type { KeyCheck } from '../activities/secrets';
import { inputObject, optionalDuration, optionalString, rejectUnknown } from './lib/input';
import { AbortRequested, Procedure, type Actor } from './lib/procedure';

export const keyInstalledSignal = defineSignal<[Actor]>('keyInstalled');
export const oldKeyRevokedSignal = defineSignal<[Actor]>('oldKeyRevoked');

export interface KeyRotationInput {
  reminderInterval?: string | number;
  /** After this long without a new key, a critical alert (the wait goes on). */
  timeout?: string | number;
  hostQueue?: string;
}

export interface KeyRotationResult {
  outcome: 'completed' | 'aborted';
  account?: string;
  fingerprint?: string;
  verification?: string;
  failedVerifications: number;
  rotatedAt?: string;
  installedBy?: string;
  revokedBy?: string;
}

export async function keyRotation(rawInput?: KeyRotationInput): Promise<KeyRotationResult> {
  const input = inputObject(rawInput, 'keyRotation');
  rejectUnknown(input, ['reminderInterval', 'timeout', 'hostQueue']);
  const timeout = optionalDuration(input, 'timeout') ?? 14 * 86_400_000;
  const p = await Procedure.start('keyRotation', { reminderInterval: optionalDuration(input, 'reminderInterval'), hostQueue: optionalString(input, 'hostQueue') });
  const wf = p.workflowId;
  const result: KeyRotationResult = { outcome: 'completed', failedVerifications: 0 };
  p.status.facts = result as unknown as Record<string, unknown>;
  let installed: Actor | undefined;
  let revoked: Actor | undefined;
  setHandler(keyInstalledSignal, (a) => {
    installed = a ?? {};
  });
  setHandler(oldKeyRevokedSignal, (a) => {
    revoked = a ?? {};
  });
  const lateAlert = (what: string) => async () => {
    await p.acts.raiseAlert({ code: `key-rotation-late:${wf}`, level: 'critical', message: `key rotation ${wf} is overdue: ${what}` });
  };

  try {
    let check: KeyCheck | undefined;
    while (!check?.ok) {
      p.phase('install', 'Generate a new service-account key in Google Cloud Console and install it as the Sheets credentials file (mode 0600).');
      await p.waitForPerson('install the new Sheets key, then signal keyInstalled (atlas-ops key-rotation installed)', 'key-installed', () => installed !== undefined, {
        alertCode: `key-rotation:${wf}`, timeout, onTimeout: lateAlert('no new key installed'),
      });
      await p.record(`new key installed${installed!.note ? `: ${installed!.note}` : ''}`, installed!.by);
      result.installedBy = installed!.by;
      p.phase('verify', 'Checking Sheets auth with the new key.');
      check = (await p.step('verify new key', () => p.acts.verifySheetsKey())).value;
      if (!check?.ok) {
        result.failedVerifications++;
        const problems = check?.problems.join('; ') ?? 'no result';
        await p.acts.raiseAlert({ code: `key-rotation-verify:${wf}`, level: 'warning', message: `the new Sheets key does not work: ${problems}. Fix it and signal keyInstalled again.` });
        await p.record(`verification failed: ${problems}`);
        installed = undefined;
      }
    }
    await p.acts.resolveAlert({ code: `key-rotation-verify:${wf}`, resolution: 'the new key works' });
    result.account = check.account;
    result.fingerprint = check.fingerprint;
    result.verification = check.probe;
    await p.record(`new key verified for ${check.account} (${check.fingerprint}): ${check.probe}`);

    p.phase('revoke', 'Revoke the old key in Google Cloud Console.');
    await p.waitForPerson('revoke the old key in Google Cloud Console, then signal oldKeyRevoked (atlas-ops key-rotation revoked)', 'old-key-revoked', () => revoked !== undefined, {
      alertCode: `key-rotation-revoke:${wf}`, timeout, onTimeout: lateAlert('old key not revoked'),
    });
    result.revokedBy = revoked!.by;
    await p.record(`old key revoked${revoked!.note ? `: ${revoked!.note}` : ''}`, revoked!.by);
    p.phase('record', 'Recording the rotation.');
    result.rotatedAt = (await p.acts.recordKeyRotation({ workflowId: wf, key: 'sheets', account: check.account, fingerprint: check.fingerprint, verified: check.probe, actor: revoked!.by })).rotatedAt;
    await p.acts.resolveAlert({ code: `key-rotation-late:${wf}`, resolution: 'rotation done' });
  } catch (err) {
    if (!(err instanceof AbortRequested)) throw err;
    result.outcome = 'aborted';
  }
  p.finish(result.outcome, result.outcome === 'completed' ? `Rotated on ${result.rotatedAt}.` : 'Aborted: the old key is still in use.');
  return result;
}
