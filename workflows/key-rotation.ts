// Quarterly Sheets key rotation: remind, wait for the new key to be installed, verify it with a
// real Sheets auth, ask for the old key to be revoked, record the date for the security audit.
// Only facts about the key (account, fingerprint) pass through here, never the key.
import { defineSignal, setHandler } from '@temporalio/workflow';
import type { KeyCheck } from '../activities/secrets';
import { HOME, HOST_QUEUE, REMINDER_INTERVAL, inputTable, type InputOf } from './lib/input';
import { DURATION_MIN } from '../src/workflow-safe/limits';
import { boundedText, type Actor } from './lib/procedure';
import { runProcedure } from './lib/template';

export const keyInstalledSignal = defineSignal<[Actor]>('keyInstalled');
export const oldKeyRevokedSignal = defineSignal<[Actor]>('oldKeyRevoked');

export const KEY_ROTATION_INPUT = inputTable([
  REMINDER_INTERVAL,
  { name: 'timeout', type: 'duration', min: DURATION_MIN.timeout, default: 14 * 86_400_000, doc: 'After this long without a new key, a critical alert (the wait goes on).' },
  HOST_QUEUE,
  HOME,
]);

export type KeyRotationInput = InputOf<typeof KEY_ROTATION_INPUT>;

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

export function keyRotation(input?: KeyRotationInput): Promise<KeyRotationResult> {
  return runProcedure({ name: 'keyRotation', input: KEY_ROTATION_INPUT }, input, (p, { timeout }) => {
    const wf = p.workflowId;
    const result: KeyRotationResult = { outcome: 'completed', failedVerifications: 0 };
    let installed: Actor | undefined;
    let revoked: Actor | undefined;
    setHandler(keyInstalledSignal, (a) => {
      installed = boundedText(a);
    });
    setHandler(oldKeyRevokedSignal, (a) => {
      revoked = boundedText(a);
    });
    const lateAlert = (what: string) => async () => {
      await p.acts.raiseAlert({ code: `key-rotation-late:${wf}`, level: 'critical', message: `key rotation ${wf} is overdue: ${what}` });
    };
    const finish = () => p.finish(result.outcome, result.outcome === 'completed' ? `Rotated on ${result.rotatedAt}.` : 'Aborted: the old key is still in use.');

    /** Install → verify, until the new key works. */
    const installAndVerify = async (): Promise<KeyCheck> => {
      for (;;) {
        p.phase('install', 'Generate a new service-account key in Google Cloud Console and install it as the Sheets credentials file (mode 0600).');
        await p.waitForPerson('install the new Sheets key, then signal keyInstalled (atlas-ops key-rotation installed)', 'key-installed', () => installed !== undefined, {
          alertCode: `key-rotation:${wf}`, timeout, onTimeout: lateAlert('no new key installed'),
        });
        await p.record(`new key installed${installed!.note ? `: ${installed!.note}` : ''}`, installed!.by);
        result.installedBy = installed!.by;
        p.phase('verify', 'Checking Sheets auth with the new key.');
        const check = await p.step('verify new key', () => p.acts.verifySheetsKey());
        if (check.ok) return check;
        result.failedVerifications++;
        const problems = check.problems.join('; ');
        await p.acts.raiseAlert({ code: `key-rotation-verify:${wf}`, level: 'warning', message: `the new Sheets key does not work: ${problems}. Fix it and signal keyInstalled again.` });
        await p.record(`verification failed: ${problems}`);
        installed = undefined;
      }
    };

    return {
      result,
      async run() {
        const check = await installAndVerify();
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
        finish();
      },
      async aborted() {
        result.outcome = 'aborted';
        finish();
      },
    };
  });
}
