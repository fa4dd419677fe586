// Key rotation's activities beside the Google and OCI ones: what the rotation covers, the SSH check,
// and the record the security audit reads. Only public facts (fingerprints, users, files) pass.
import { appendLog } from '../src/log';
import { keySourceName, rotationProblem } from '../src/ssh-keys';
import type { ActivityContext } from './deps';
import { failure } from '../src/workflow-safe/failures';

export function createSecretActivities(ctx: ActivityContext) {
  return {
    /** Which keys this host's rotation covers besides the Google key: facts from the configuration. */
    async keyRotationPlan(): Promise<{ sshUsers: string[]; ociUser?: string }> {
      // The files the access review reads (access.sshKeySources): the SSH keys reviewed are the ones rotated.
      return { sshUsers: ctx.config.access.sshKeySources.map(keySourceName), ociUser: ctx.config.oci.userId || undefined };
    },

    /** The new SSH key in every configured authorized_keys file and the old one gone; else a failure naming the user and file. */
    async verifySshKeys(input: { newFingerprint: string; oldFingerprint: string }): Promise<{ checked: string[] }> {
      const sources = ctx.config.access.sshKeySources;
      const problems = sources.map((s) => rotationProblem(s, input.newFingerprint, input.oldFingerprint)).filter((p): p is string => p !== undefined);
      appendLog(ctx.paths.log('procedures'), { event: 'ssh-keys-verified', ...input, problems });
      if (problems.length) throw failure.KeyInvalid(`SSH key not rotated: ${problems.join('; ')}. Fix the file, then decide retry.`);
      return { checked: sources.map(keySourceName) };
    },

    /** Records the rotation (the security audit reads it). Idempotent per workflow. */
    async recordKeyRotation(input: { workflowId: string; key: string; account?: string; fingerprint?: string; verified: string; actor?: string }): Promise<{ rotatedAt: string }> {
      const db = ctx.opsDb();
      const existing = db.prepare('SELECT rotated_at FROM key_rotations WHERE workflow_id = ? AND key = ?').pluck().get(input.workflowId, input.key) as string | undefined;
      if (existing) return { rotatedAt: existing };
      if (!/^[a-z-]+$/.test(input.key)) throw failure.InvalidInput(`key: "${input.key}" is not a key name`);
      const at = ctx.now().toISOString();
      db.prepare('INSERT INTO key_rotations (key, rotated_at, workflow_id, key_id, account, verified, actor) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(input.key, at, input.workflowId, input.fingerprint ?? null, input.account ?? null, input.verified, input.actor ?? null);
      return { rotatedAt: at };
    },
  };
}
