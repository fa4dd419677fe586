// Key rotation's Google activities (docs/procedures.md#key-rotation). Key material lives only in
// files under <home>/config (mode 0600): the installed key, the new key staged by create, and the
// replaced key kept until the token endpoint has refused it. Only facts leave these activities
// (account, key ids, fingerprints), never a key. Every step can run again after a crash: each one
// looks at those files (and IAM's list) first, so no key is created twice, and a key is deleted only
// when it is not the installed one.
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../src/atomic-file';
import { MODE } from '../src/file-modes';
import { candidateProblem, iamApi, iamFailure, keyFacts, keyName, parseKeyFile, readKeyFile, tryToken, type GoogleKeyFile, type KeyFacts } from '../src/google-keys';
import { appendLog } from '../src/log';
import { plainFileNamePart } from '../src/workflow-safe/file-names';
import { failure } from '../src/workflow-safe/failures';
import type { ActivityContext } from './deps';

/** The staging files of one rotation: `new` (created, not yet installed), `old` (replaced, not yet refused), `intent`. */
type Staged = 'new' | 'old' | 'intent';

export function createGoogleKeyActivities(ctx: ActivityContext) {
  const credentials = () => ctx.config.sheets.credentials || path.join(ctx.paths.configDir, 'sheets-credentials.json');
  const stagingDir = () => path.join(ctx.paths.configDir, 'key-rotation');
  const staged = (workflowId: string, which: Staged) => path.join(stagingDir(), `${plainFileNamePart(workflowId)}.${which}.json`);
  const log = (event: string, facts: Record<string, unknown>) => appendLog(ctx.paths.log('procedures'), { event, ...facts });
  const installedKey = (): { key: GoogleKeyFile; facts: KeyFacts } => {
    const key = readKeyFile(credentials());
    return { key, facts: keyFacts(key) };
  };

  /** Deletes `keyId` unless it is the installed key; false when IAM no longer had it. */
  const deleteKey = async (auth: GoogleKeyFile, account: string, keyId: string): Promise<boolean> => {
    if (readKeyFile(credentials()).private_key_id === keyId) throw failure.KeyInvalid(`key ${keyId} is the one installed in ${credentials()}: not deleted`);
    try {
      await iamApi(ctx.config, auth).projects.serviceAccounts.keys.delete({ name: keyName(account, keyId) });
      return true;
    } catch (err) {
      if ((err as { status?: number }).status === 404) return false;
      throw iamFailure(err, `IAM keys.delete ${keyId}`);
    }
  };

  /**
   * Keys an interrupted create made whose answer never arrived (created after its intent, neither
   * installed nor staged): their material is lost, nothing can use them, so they are deleted
   * before a new create, and exactly one new key comes out of the rotation.
   */
  const deleteOrphans = async (current: { key: GoogleKeyFile; facts: KeyFacts }, since: string): Promise<string[]> => {
    let keys;
    try {
      keys = (await iamApi(ctx.config, current.key).projects.serviceAccounts.keys.list({ name: keyName(current.facts.account), keyTypes: ['USER_MANAGED'] })).data.keys ?? [];
    } catch (err) {
      throw iamFailure(err, `IAM keys.list for ${current.facts.account}`);
    }
    // Google's validAfterTime has whole seconds: a key made in the intent's second counts.
    const from = Date.parse(since) - 1000;
    const orphans = keys.map((k) => ({ id: String(k.name).split('/').pop()!, after: Date.parse(String(k.validAfterTime ?? '')) })).filter((k) => k.id !== current.facts.keyId && k.after >= from);
    for (const o of orphans) await deleteKey(current.key, current.facts.account, o.id);
    return orphans.map((o) => o.id);
  };

  return {
    /** The installed key's facts: what the rotation starts from. */
    async currentGoogleKey(): Promise<KeyFacts & { file: string }> {
      return { ...installedKey().facts, file: credentials() };
    },

    /**
     * IAM keys.create for the installed key's account, the answer checked and staged (0600). Run
     * again, it returns the key already staged; after a create whose answer was lost, it first
     * deletes the key that create made.
     */
    async createGoogleKey(input: { workflowId: string }): Promise<KeyFacts> {
      const current = installedKey();
      const { account } = current.facts;
      const newFile = staged(input.workflowId, 'new');
      if (fs.existsSync(newFile)) return keyFacts(readKeyFile(newFile));
      fs.mkdirSync(stagingDir(), { recursive: true, mode: 0o700 });
      const intentFile = staged(input.workflowId, 'intent');
      if (fs.existsSync(intentFile)) {
        const { since } = JSON.parse(fs.readFileSync(intentFile, 'utf8')) as { since: string };
        const orphans = await deleteOrphans(current, since);
        if (orphans.length) log('google-key-orphans-deleted', { workflowId: input.workflowId, account, keyIds: orphans });
      }
      writeFileAtomic(intentFile, JSON.stringify({ since: ctx.now().toISOString(), from: current.facts.keyId }), MODE.secret);

      let answer;
      try {
        answer = (await iamApi(ctx.config, current.key).projects.serviceAccounts.keys.create({ name: keyName(account), requestBody: { privateKeyType: 'TYPE_GOOGLE_CREDENTIALS_FILE', keyAlgorithm: 'KEY_ALG_RSA_2048' } })).data;
      } catch (err) {
        throw iamFailure(err, `IAM keys.create for ${account}`);
      }
      const createdId = String(answer.name ?? '').split('/').pop() ?? '';
      // A refused answer's key is deleted again (never the installed one): nobody can use it.
      const refuse = async (problem: string) => {
        const gone = createdId && createdId !== current.facts.keyId ? await deleteKey(current.key, account, createdId).then(() => `; key ${createdId} it created was deleted again`, () => `; key ${createdId} it created could not be deleted: delete it in the console`) : '';
        log('google-key-refused', { workflowId: input.workflowId, account, problem });
        throw failure.KeyInvalid(`${problem}${gone}. The installed key ${current.facts.keyId} is unchanged and nothing else was deleted.`);
      };
      if (!answer.privateKeyData) return refuse(`IAM keys.create for ${account} answered without privateKeyData (key ${createdId || answer.name || 'unnamed'})`);
      const text = Buffer.from(answer.privateKeyData, 'base64').toString('utf8');
      let candidate: KeyFacts;
      try {
        candidate = keyFacts(parseKeyFile(text, `IAM's new key ${createdId}`));
      } catch (err) {
        return refuse((err as Error).message);
      }
      const problem = candidateProblem(current.facts, candidate, `IAM's new key ${createdId}`) ?? (candidate.keyId !== createdId ? `IAM's new key ${createdId} holds a key file of key ${candidate.keyId}` : undefined);
      if (problem) return refuse(problem);
      writeFileAtomic(newFile, text, MODE.secret);
      log('google-key-created', { workflowId: input.workflowId, ...candidate });
      return candidate;
    },

    /** A real token grant with the rotation's new key: staged if not yet installed, else the installed file (mode 0600 required). */
    async verifyGoogleKey(input: { workflowId: string; keyId: string }): Promise<{ probe: string }> {
      const newFile = staged(input.workflowId, 'new');
      const file = fs.existsSync(newFile) ? newFile : credentials();
      const key = readKeyFile(file);
      if (key.private_key_id !== input.keyId) throw failure.KeyInvalid(`${file} holds key ${key.private_key_id}, not the new key ${input.keyId}`);
      const mode = fs.statSync(file).mode & 0o777;
      if (mode !== MODE.secret) throw failure.KeyInvalid(`${file} is mode ${mode.toString(8).padStart(4, '0')}: run chmod 600 ${file}`);
      const answer = await tryToken(key);
      if (!answer.ok) throw failure.KeyNotAccepted(`the token endpoint refused new key ${input.keyId} of ${key.client_email}: ${answer.refusal}`);
      const probe = `token issued for ${key.client_email} with key ${input.keyId} (${file === newFile ? 'staged' : 'installed'})`;
      log('google-key-verified', { workflowId: input.workflowId, probe });
      return { probe };
    },

    /**
     * Installs the staged key as the credentials file: the replaced one kept (0600) for the
     * revocation check, then the new one written beside it, fsynced and renamed over it. Refused when
     * the installed key is neither the one the rotation started from nor the new one.
     */
    async installGoogleKey(input: { workflowId: string; keyId: string; previousKeyId: string }): Promise<{ file: string }> {
      const file = credentials();
      const newFile = staged(input.workflowId, 'new');
      const installed = readKeyFile(file);
      if (installed.private_key_id !== input.keyId) {
        if (installed.private_key_id !== input.previousKeyId) {
          throw failure.KeyInvalid(`${file} holds key ${installed.private_key_id}, not key ${input.previousKeyId} this rotation started from: someone changed it; nothing was installed`);
        }
        const text = fs.readFileSync(newFile, 'utf8');
        if (parseKeyFile(text, newFile).private_key_id !== input.keyId) throw failure.KeyInvalid(`${newFile} does not hold the new key ${input.keyId}`);
        const oldFile = staged(input.workflowId, 'old');
        if (!fs.existsSync(oldFile)) writeFileAtomic(oldFile, fs.readFileSync(file), MODE.secret);
        writeFileAtomic(file, text, MODE.secret);
      }
      fs.rmSync(newFile, { force: true });
      log('google-key-installed', { workflowId: input.workflowId, keyId: input.keyId, file });
      return { file };
    },

    /** IAM keys.delete of a key that is not installed (the old one, or a new one an abort leaves unused), authenticated with the installed key. */
    async deleteGoogleKey(input: { workflowId: string; keyId: string }): Promise<{ deleted: boolean }> {
      const { key, facts } = installedKey();
      const deleted = await deleteKey(key, facts.account, input.keyId);
      const newFile = staged(input.workflowId, 'new');
      if (fs.existsSync(newFile) && readKeyFile(newFile).private_key_id === input.keyId) fs.rmSync(newFile);
      log('google-key-deleted', { workflowId: input.workflowId, account: facts.account, keyId: input.keyId, alreadyGone: !deleted });
      return { deleted };
    },

    /** The deleted key, kept since install, must now be refused by the token endpoint; then it is removed. */
    async googleKeyRevoked(input: { workflowId: string; keyId: string }): Promise<{ probe: string }> {
      const oldFile = staged(input.workflowId, 'old');
      if (!fs.existsSync(oldFile)) return { probe: `old key ${input.keyId} was refused at an earlier check (its kept copy is removed)` };
      const key = readKeyFile(oldFile);
      if (key.private_key_id !== input.keyId) throw failure.KeyInvalid(`${oldFile} holds key ${key.private_key_id}, not the old key ${input.keyId}`);
      const answer = await tryToken(key);
      if (answer.ok) throw failure.KeyStillValid(`old key ${input.keyId} of ${key.client_email} still obtains a token after its deletion`);
      fs.rmSync(oldFile);
      fs.rmSync(staged(input.workflowId, 'intent'), { force: true });
      const probe = `the token endpoint refused old key ${input.keyId}: ${answer.refusal}`;
      log('google-key-revoked', { workflowId: input.workflowId, probe });
      return { probe };
    },
  };
}
