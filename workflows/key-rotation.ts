// Quarterly key rotation (docs/procedures.md#key-rotation). The Google service-account key through
// IAM: create a new key, obtain a token with it, install it (0600, atomically), delete the old key,
// and check the token endpoint now refuses it. The SSH key is a person's step, verified in the
// configured authorized_keys files. Only facts about keys (account, ids, fingerprints) pass through
// here, never a key: the activities keep key material in files under the home. The OCI API key,
// where configured, through oci-identity: upload a new one, switch the config file, delete the old.
import { defineSignal, setHandler } from '@temporalio/workflow';
import type { KeyFacts } from '../src/google-keys';
import { HOME, HOST_QUEUE, REMINDER_INTERVAL, inputTable, type InputOf } from './lib/input';
import { DURATION_MIN } from '../src/workflow-safe/limits';
import { boundedText, type Actor, type Procedure } from './lib/procedure';
import { runProcedure } from './lib/template';

/** A person replaced the SSH key: the new and the old key's fingerprints (`ssh-keygen -lf`), public facts. */
export const sshKeyInstalledSignal = defineSignal<[Actor & { newFingerprint: string; oldFingerprint: string }]>('sshKeyInstalled');

export const KEY_ROTATION_INPUT = inputTable([
  REMINDER_INTERVAL,
  { name: 'timeout', type: 'duration', min: DURATION_MIN.timeout, default: 14 * 86_400_000, doc: 'After this long without the SSH key replaced, a critical alert (the wait goes on).' },
  HOST_QUEUE,
  HOME,
]);

export type KeyRotationInput = InputOf<typeof KEY_ROTATION_INPUT>;

export interface KeyRotationResult {
  outcome: 'completed' | 'aborted';
  account?: string;
  oldKeyId?: string;
  newKeyId?: string;
  /** Of the new key's public key. */
  fingerprint?: string;
  verification?: string;
  /** What the token endpoint answered the old key after its deletion. */
  revocation?: string;
  /** The OCI API key replaced; absent when oci.userId is not set. */
  oci?: { userId: string; fingerprint: string; oldFingerprint: string };
  /** Users whose authorized_keys were checked; absent when no SSH file is configured. */
  ssh?: { newFingerprint: string; checked: string[]; installedBy?: string };
  rotatedAt?: string;
}

export function keyRotation(input?: KeyRotationInput): Promise<KeyRotationResult> {
  return runProcedure({ name: 'keyRotation', input: KEY_ROTATION_INPUT }, input, (p, { timeout }) => {
    const wf = p.workflowId;
    const result: KeyRotationResult = { outcome: 'completed' };
    /** The new key once created, until it is installed: what abort deletes again. */
    let unusedKey: string | undefined;

    return {
      result,
      async run() {
        p.phase('create', 'Creating a new service-account key through IAM.');
        const plan = await p.step('read the plan', () => p.acts.keyRotationPlan());
        const old = await p.step('read the installed key', () => p.acts.currentGoogleKey());
        Object.assign(result, { account: old.account, oldKeyId: old.keyId });
        const created: KeyFacts = await p.step('create the new key', () => p.acts.createGoogleKey({ workflowId: wf }));
        unusedKey = created.keyId;
        Object.assign(result, { newKeyId: created.keyId, fingerprint: created.fingerprint });
        await p.record(`new key ${created.keyId} created for ${created.account} (${created.fingerprint})`);

        p.phase('verify', 'Obtaining a token with the new key.');
        await p.step('token with the new key', () => p.acts.verifyGoogleKey({ workflowId: wf, keyId: created.keyId }));

        p.phase('install', 'Installing the new key as the Sheets credentials file (mode 0600).');
        await p.step('install the new key', () => p.acts.installGoogleKey({ workflowId: wf, keyId: created.keyId, previousKeyId: old.keyId }));
        unusedKey = undefined;
        result.verification = (await p.step('token with the installed key', () => p.acts.verifyGoogleKey({ workflowId: wf, keyId: created.keyId }))).probe;
        await p.record(`new key ${created.keyId} installed: ${result.verification}`);

        p.phase('revoke', `Deleting the old key ${old.keyId} through IAM.`);
        await p.step('delete the old key', () => p.acts.deleteGoogleKey({ workflowId: wf, keyId: old.keyId }));
        result.revocation = (await p.step('old key refused', () => p.acts.googleKeyRevoked({ workflowId: wf, keyId: old.keyId }))).probe;
        await p.record(`old key ${old.keyId} deleted: ${result.revocation}`);

        if (plan.ociUser) {
          p.phase('oci', `Replacing the OCI API key of ${plan.ociUser}.`);
          const oci = await p.step('upload the new OCI API key', () => p.acts.createOciApiKey({ workflowId: wf }));
          await p.step('install the new OCI API key', () => p.acts.installOciApiKey({ workflowId: wf, fingerprint: oci.fingerprint, oldFingerprint: oci.oldFingerprint }));
          await p.step('delete the old OCI API key', () => p.acts.deleteOciApiKey({ workflowId: wf, fingerprint: oci.oldFingerprint }));
          result.oci = oci;
          await p.record(`OCI API key of ${oci.userId} replaced: ${oci.fingerprint} installed, ${oci.oldFingerprint} deleted`);
        }

        // sshUsers: the configured SSH key sources, named as messages name them (the field keeps its name for running histories).
        if (plan.sshUsers.length) await rotateSsh(p, result, plan.sshUsers, timeout);

        p.phase('record', 'Recording the rotation.');
        result.rotatedAt = (await p.acts.recordKeyRotation({ workflowId: wf, key: 'sheets', account: created.account, fingerprint: created.fingerprint, verified: result.verification })).rotatedAt;
        if (result.oci) await p.acts.recordKeyRotation({ workflowId: wf, key: 'oci', account: result.oci.userId, fingerprint: result.oci.fingerprint, verified: 'old key no longer listed by OCI' });
        if (result.ssh) await p.acts.recordKeyRotation({ workflowId: wf, key: 'ssh', fingerprint: result.ssh.newFingerprint, verified: `in ${result.ssh.checked.join(', ')}`, actor: result.ssh.installedBy });
        p.finish('completed', `Rotated on ${result.rotatedAt}: key ${created.keyId} installed, ${old.keyId} deleted.`);
      },
      async undo() {
        // A key created but never installed is of no use to anyone: deleted again (never the installed one).
        if (unusedKey) await p.undo.deleteGoogleKey({ workflowId: wf, keyId: unusedKey });
      },
      async aborted() {
        result.outcome = 'aborted';
        p.finish('aborted', result.newKeyId && !unusedKey ? `Aborted after the new key ${result.newKeyId} was installed.` : 'Aborted: the old key is still installed and valid.');
      },
    };
  });
}

/** The SSH key: a person replaces it, the authorized_keys files say whether it was done. */
async function rotateSsh(p: Procedure, result: KeyRotationResult, sources: string[], timeout: number): Promise<void> {
  let installed: (Actor & { newFingerprint: string; oldFingerprint: string }) | undefined;
  setHandler(sshKeyInstalledSignal, (a) => {
    installed = boundedText(a);
  });
  p.phase('ssh', `Replace the SSH key in the authorized_keys files of access.sshKeySources (${sources.join(', ')}): add the new key, remove the old one.`);
  await p.waitForPerson(
    `add the new SSH key to the authorized_keys files ${sources.join(', ')} and remove the old one, then run: atlas-ops key-rotation ssh-installed --new SHA256:… --old SHA256:…`,
    'ssh-key-installed',
    () => installed !== undefined,
    {
      alertCode: `key-rotation-ssh:${p.workflowId}`,
      timeout,
      onTimeout: async () => {
        await p.acts.raiseAlert({ code: `key-rotation-late:${p.workflowId}`, level: 'critical', message: `key rotation ${p.workflowId} is overdue: the SSH key is not replaced` });
      },
    },
  );
  await p.record(`SSH key replaced: new ${installed!.newFingerprint}, old ${installed!.oldFingerprint}${installed!.note ? ` (${installed!.note})` : ''}`, installed!.by);
  // Not verified: the step's failure names the user and file, and waits for the operator's decision.
  const { checked } = await p.step('verify SSH keys', () => p.acts.verifySshKeys({ newFingerprint: installed!.newFingerprint, oldFingerprint: installed!.oldFingerprint }));
  result.ssh = { newFingerprint: installed!.newFingerprint, checked, installedBy: installed!.by };
  await p.acts.resolveAlert({ code: `key-rotation-late:${p.workflowId}`, resolution: 'SSH key replaced' });
}
