// Key rotation's OCI API key (docs/procedures.md#key-rotation), where `oci.userId` is set: a new
// RSA key made here (staged 0600 under the home), its public half uploaded with oci-identity
// uploadApiKey, the OCI config file switched to it in one atomic rename (key_file and fingerprint
// together), then the old key deleted with deleteApiKey, signed with the new one. Only fingerprints
// leave these activities. Each step can run again: upload looks for the fingerprint first and
// carries a retry token, install and delete look at the config file first.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../src/atomic-file';
import { MODE } from '../src/file-modes';
import { appendLog } from '../src/log';
import { identityClient, ociFingerprint, profileValue, withKey } from '../src/oci/api-keys';
import { ociConfigFile } from '../src/oci/blockstorage';
import { plainFileNamePart } from '../src/workflow-safe/file-names';
import { failure } from '../src/workflow-safe/failures';
import type { ActivityContext } from './deps';
import { ociFailure, retryToken } from './oci';

export interface OciKeyFacts {
  userId: string;
  fingerprint: string;
  oldFingerprint: string;
}

export function createOciKeyActivities(ctx: ActivityContext) {
  const staged = (workflowId: string, what = 'oci.pem') => path.join(ctx.paths.configDir, 'key-rotation', `${plainFileNamePart(workflowId)}.${what}`);
  /** Where install notes the replaced key file, so delete removes it even when install ran twice. */
  const oldKeyNote = (workflowId: string) => staged(workflowId, 'oci-old-key-file');
  const log = (event: string, facts: Record<string, unknown>) => appendLog(ctx.paths.log('procedures'), { event, ...facts });
  /** The config file's text and the [DEFAULT] profile's user and fingerprint, checked against oci.userId. */
  const profile = () => {
    const file = ociConfigFile(ctx.config);
    if (!fs.existsSync(file)) throw failure.KeyInvalid(`oci.userId is set but the OCI config file ${file} does not exist: API key rotation needs it (set oci.configFile)`);
    const text = fs.readFileSync(file, 'utf8');
    const user = profileValue(text, 'user');
    if (user !== ctx.config.oci.userId) throw failure.KeyInvalid(`${file}: its [DEFAULT] user is ${user ?? 'missing'}, not oci.userId ${ctx.config.oci.userId}: refused`);
    return { file, text, fingerprint: profileValue(text, 'fingerprint') ?? '', keyFile: profileValue(text, 'key_file') ?? '' };
  };

  return {
    /** The new key made (once per rotation) and uploaded (once: the list is looked at first). */
    async createOciApiKey(input: { workflowId: string }): Promise<OciKeyFacts> {
      const { fingerprint: oldFingerprint } = profile();
      const userId = ctx.config.oci.userId;
      const file = staged(input.workflowId);
      if (!fs.existsSync(file)) {
        fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
        const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
        writeFileAtomic(file, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), MODE.secret);
      }
      const publicPem = crypto.createPublicKey(fs.readFileSync(file, 'utf8')).export({ type: 'spki', format: 'pem' }).toString();
      const fingerprint = ociFingerprint(publicPem);
      if (fingerprint === oldFingerprint) throw failure.KeyInvalid(`the new OCI API key has the current key's fingerprint ${fingerprint}: refused`);
      const client = await identityClient(ctx.config);
      try {
        const listed = (await client.listApiKeys({ userId })).items;
        if (!listed.some((k) => k.fingerprint === fingerprint)) {
          const uploaded = (await client.uploadApiKey({ userId, createApiKeyDetails: { key: publicPem }, opcRetryToken: retryToken(input.workflowId, 'oci-api-key') })).apiKey;
          if (uploaded.fingerprint !== fingerprint) throw failure.KeyInvalid(`OCI uploadApiKey answered fingerprint ${uploaded.fingerprint}, not ${fingerprint} of the key uploaded`);
        }
      } catch (err) {
        throw ociFailure(err, `OCI API key upload for ${userId}`);
      } finally {
        client.close();
      }
      log('oci-api-key-uploaded', { workflowId: input.workflowId, userId, fingerprint });
      return { userId, fingerprint, oldFingerprint };
    },

    /** The config file switched to the new key (its key file written first, both 0600). */
    async installOciApiKey(input: { workflowId: string; fingerprint: string; oldFingerprint: string }): Promise<{ keyFile: string }> {
      const p = profile();
      if (p.fingerprint === input.fingerprint) return { keyFile: p.keyFile };
      if (p.fingerprint !== input.oldFingerprint) throw failure.KeyInvalid(`${p.file}: fingerprint is ${p.fingerprint}, not ${input.oldFingerprint} this rotation started from: someone changed it; nothing was installed`);
      const keyFile = path.join(path.dirname(p.file), `oci_api_key.${input.fingerprint.replace(/:/g, '').slice(0, 12)}.pem`);
      const pem = fs.readFileSync(staged(input.workflowId), 'utf8');
      if (ociFingerprint(crypto.createPublicKey(pem)) !== input.fingerprint) throw failure.KeyInvalid(`${staged(input.workflowId)} is not the key ${input.fingerprint}`);
      writeFileAtomic(keyFile, pem, MODE.secret);
      if (p.keyFile) writeFileAtomic(oldKeyNote(input.workflowId), p.keyFile, MODE.secret);
      writeFileAtomic(p.file, withKey(p.text, keyFile, input.fingerprint), MODE.secret);
      fs.rmSync(staged(input.workflowId), { force: true });
      log('oci-api-key-installed', { workflowId: input.workflowId, fingerprint: input.fingerprint, keyFile });
      return { keyFile };
    },

    /** deleteApiKey of the old key, signed with the installed one (never the installed key); then the list must lack it. */
    async deleteOciApiKey(input: { workflowId: string; fingerprint: string }): Promise<{ remaining: number }> {
      const p = profile();
      if (p.fingerprint === input.fingerprint) throw failure.KeyInvalid(`API key ${input.fingerprint} is the one ${p.file} uses: not deleted`);
      const userId = ctx.config.oci.userId;
      const client = await identityClient(ctx.config);
      let remaining: string[];
      try {
        await client.deleteApiKey({ userId, fingerprint: input.fingerprint }).catch((err: { statusCode?: number }) => {
          if (err?.statusCode !== 404) throw err;
        });
        remaining = (await client.listApiKeys({ userId })).items.map((k) => String(k.fingerprint));
      } catch (err) {
        throw ociFailure(err, `OCI API key delete for ${userId}`);
      } finally {
        client.close();
      }
      if (remaining.includes(input.fingerprint)) throw failure.KeyStillValid(`OCI still lists API key ${input.fingerprint} of ${userId} after its deletion`);
      if (!remaining.includes(p.fingerprint)) throw failure.KeyInvalid(`OCI does not list the installed API key ${p.fingerprint} of ${userId}: check the user's API keys in the console`);
      // The old private key goes once OCI no longer accepts it (only a file under the config folder, never the one in use).
      const note = oldKeyNote(input.workflowId);
      const oldKeyFile = fs.existsSync(note) ? fs.readFileSync(note, 'utf8') : undefined;
      if (oldKeyFile && oldKeyFile !== p.keyFile && oldKeyFile.startsWith(`${ctx.paths.configDir}${path.sep}`)) fs.rmSync(oldKeyFile, { force: true });
      fs.rmSync(note, { force: true });
      log('oci-api-key-deleted', { workflowId: input.workflowId, userId, fingerprint: input.fingerprint });
      return { remaining: remaining.length };
    },
  };
}
