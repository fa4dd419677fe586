// Google service-account keys as key rotation handles them (docs/procedures.md#key-rotation): the
// key file read and checked, the facts that may be shown (account, key id, fingerprint: never the
// key), a candidate refused when it is not a new key of the same account, a token obtained with a
// key through google-auth-library's own JWT-bearer grant, and the IAM v1 client.
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { iam_v1 } from 'googleapis/build/src/apis/iam';
import { iamModule, type JWT } from './google-apis';
import type { AtlasConfig } from './config';
import { isLoopback } from './sheets/client';
import { failure } from './workflow-safe/failures';

/** Google's token URL, which google-auth-library signs into every assertion and posts to. */
const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const GOOGLE_IAM_ROOT = 'https://iam.googleapis.com/';
/** A scope every service account may ask for: the token proves the key, not a permission. */
export const TOKEN_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

export interface GoogleKeyFile {
  type: 'service_account';
  client_email: string;
  private_key: string;
  private_key_id: string;
  token_uri?: string;
}

/** What may leave an activity about a key. */
export interface KeyFacts {
  account: string;
  keyId: string;
  /** First 16 hex digits of sha256(public key, DER): tells keys apart without revealing one. */
  fingerprint: string;
}

/** A key file's text checked field by field; `where` names it in every error (a path, "IAM's answer"). */
export function parseKeyFile(text: string, where: string): GoogleKeyFile {
  let key: Partial<GoogleKeyFile>;
  try {
    key = JSON.parse(text) as Partial<GoogleKeyFile>;
  } catch {
    throw failure.KeyInvalid(`${where} is not JSON: not a service-account key file`);
  }
  if (key?.type !== 'service_account') throw failure.KeyInvalid(`${where}: "type" is ${JSON.stringify(key?.type ?? null)}, not "service_account"`);
  for (const field of ['client_email', 'private_key', 'private_key_id'] as const) {
    if (typeof key[field] !== 'string' || !key[field]) throw failure.KeyInvalid(`${where}: no ${field}`);
  }
  try {
    crypto.createPrivateKey(key.private_key!);
  } catch {
    throw failure.KeyInvalid(`${where}: private_key is not a readable PEM key`);
  }
  return key as GoogleKeyFile;
}

export function readKeyFile(file: string): GoogleKeyFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw failure.KeyInvalid(`${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist: install the current service-account key there (mode 0600) first' : (err as Error).message}`);
  }
  return parseKeyFile(text, file);
}

export function keyFacts(key: GoogleKeyFile): KeyFacts {
  const spki = crypto.createPublicKey(key.private_key).export({ type: 'spki', format: 'der' });
  return { account: key.client_email, keyId: key.private_key_id, fingerprint: crypto.createHash('sha256').update(spki).digest('hex').slice(0, 16) };
}

/** Why `candidate` cannot replace `current`, or undefined: another account's key, or the same key again. */
export function candidateProblem(current: KeyFacts, candidate: KeyFacts, where: string): string | undefined {
  if (candidate.account !== current.account) return `${where} is a key of ${candidate.account}, not of ${current.account} (the account being rotated): refused`;
  if (candidate.keyId === current.keyId) return `${where} is the current key again (key id ${current.keyId}): refused, the old key would stay in use`;
  if (candidate.fingerprint === current.fingerprint) return `${where} holds the current key's material again (fingerprint ${current.fingerprint}) under key id ${candidate.keyId}: refused`;
  return undefined;
}

/**
 * google-auth-library's JWT client for `key`. It posts to Google's token URL whatever the key file
 * says; a key whose token_uri is a loopback URL (one the local emulator issued) gets its grant
 * posted there instead. Never another host: a production key file names Google's.
 */
export function jwtFor(key: GoogleKeyFile, scopes: string[] = [TOKEN_SCOPE]): JWT {
  const jwt = new (iamModule().auth.JWT)({ email: key.client_email, key: key.private_key, keyId: key.private_key_id, scopes });
  const tokenUri = key.token_uri;
  if (tokenUri && tokenUri !== GOOGLE_TOKEN_URL && isLoopback(tokenUri)) {
    jwt.transporter.interceptors.request.add({
      resolved: async (options) => {
        if (String(options.url) === GOOGLE_TOKEN_URL) options.url = new URL(tokenUri);
        return options;
      },
    });
  }
  return jwt;
}

/** The token endpoint's answer to a grant signed with `key`: ok, or its refusal in its own words. */
export async function tryToken(key: GoogleKeyFile): Promise<{ ok: true } | { ok: false; refusal: string; status?: number }> {
  try {
    await jwtFor(key).authorize();
    return { ok: true };
  } catch (err) {
    const e = err as { status?: number; response?: { status?: number }; message?: string };
    return { ok: false, refusal: String(e.message ?? err).slice(0, 300), status: e.response?.status ?? e.status };
  }
}

/** Where IAM is: Google's, unless Sheets is the local emulator, which serves IAM too. */
export function iamRootUrl(config: AtlasConfig): string {
  return isLoopback(config.sheets.rootUrl) ? config.sheets.rootUrl.replace(/\/?$/, '/') : GOOGLE_IAM_ROOT;
}

export function iamApi(config: AtlasConfig, key: GoogleKeyFile): iam_v1.Iam {
  // retry: false — retries belong to Temporal.
  return iamModule().iam({ version: 'v1', rootUrl: iamRootUrl(config), auth: jwtFor(key), retry: false, timeout: config.sheets.requestTimeout });
}

/** The IAM resource name of an account's key (`-`: the project is read from the account). */
export function keyName(account: string, keyId?: string): string {
  return `projects/-/serviceAccounts/${account}${keyId ? `/keys/${keyId}` : ''}`;
}

/** An IAM call's failure as a catalogue failure: refusals are not retried, outages are. */
export function iamFailure(err: unknown, what: string) {
  const e = err as { status?: number; response?: { status?: number; data?: { error?: { message?: string } } }; message?: string };
  const status = e.response?.status ?? e.status;
  const message = `${what}: ${e.response?.data?.error?.message ?? e.message ?? String(err)}`;
  if (status !== undefined && status < 500 && status !== 429) {
    return failure.KeyApiRejected(`${message} (HTTP ${status}). Check that the service account may manage its own keys (roles/iam.serviceAccountKeyAdmin) and that the installed key still works.`);
  }
  return failure.KeyApiUnavailable(`${message}${status ? ` (HTTP ${status})` : ''}. IAM failed or could not be reached; retried.`);
}
