// The Google side of a service-account key, emulated beside the Sheets API: IAM v1's
// `projects.serviceAccounts.keys` (create, list, get, delete) and the OAuth token endpoint's
// JWT-bearer grant. Tokens are issued only for an assertion whose RS256 signature verifies against a
// public key this emulator issued for that account and has not deleted, so a wrong, stale or revoked
// key is refused for real, as Google refuses it (400 invalid_grant). The IAM calls need a token it
// issued. Only public keys are kept (in `<state file>`); a private key leaves once, in create's answer.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { MODE } from '../file-modes';
import { ApiError } from './store';

/** The audience google-auth-library signs into every assertion (its token URL is fixed). */
export const GOOGLE_TOKEN_AUDIENCE = 'https://oauth2.googleapis.com/token';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const TOKEN_TTL_S = 3600;

interface StoredKey {
  id: string;
  account: string;
  publicKeyPem: string;
  validAfterTime: string;
  deleted?: string;
}

/** What the next `keys.create` answers instead of a normal key (a test's switch, taken once). */
export interface CreateOverride {
  /** Create the key but answer without privateKeyData. */
  omitPrivateKeyData?: boolean;
  /** Answer with this key file (any JSON) as privateKeyData; the key recorded is still a new one. */
  keyFile?: Record<string, unknown>;
  /** Create the key, then answer 500: the answer is lost, as on a dropped connection. */
  loseResponse?: boolean;
}

export interface IamReply {
  status: number;
  body: unknown;
}

export class IamEmulator {
  private keys = new Map<string, StoredKey>();
  private tokens = new Map<string, { account: string; keyId: string; expires: number }>();
  /** Switches for the next creates, in order. */
  readonly nextCreates: CreateOverride[] = [];
  /** Token grants answered, by outcome: what a test checks a refusal against. */
  readonly grants = { issued: 0, refused: 0 };

  constructor(
    private readonly stateFile: string,
    private readonly baseUrl: () => string,
  ) {
    if (fs.existsSync(stateFile)) for (const k of JSON.parse(fs.readFileSync(stateFile, 'utf8')) as StoredKey[]) this.keys.set(k.id, k);
  }

  private save(): void {
    fs.writeFileSync(this.stateFile, JSON.stringify([...this.keys.values()], null, 1), { mode: MODE.file });
  }

  /** A new key for `account`, recorded, and its key file (what create's privateKeyData decodes to). */
  issueKey(account: string): Record<string, string> {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const id = crypto.randomBytes(20).toString('hex');
    this.keys.set(id, { id, account, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), validAfterTime: new Date().toISOString() });
    this.save();
    return {
      type: 'service_account',
      project_id: projectOf(account),
      private_key_id: id,
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: account,
      client_id: String(BigInt(`0x${id.slice(0, 15)}`)),
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: `${this.baseUrl()}token`,
    };
  }

  /** Keys of an account (deleted ones too, marked): for tests. */
  accountKeys(account: string): { id: string; deleted: boolean }[] {
    return [...this.keys.values()].filter((k) => k.account === account).map((k) => ({ id: k.id, deleted: Boolean(k.deleted) }));
  }

  /** `/token`: the JWT-bearer grant. */
  token(form: URLSearchParams): IamReply {
    const refuse = (description: string): IamReply => {
      this.grants.refused++;
      return { status: 400, body: { error: 'invalid_grant', error_description: description } };
    };
    if (form.get('grant_type') !== JWT_BEARER) return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'Invalid grant_type' } };
    const parts = String(form.get('assertion') ?? '').split('.');
    if (parts.length !== 3) return refuse('Invalid JWT: Token must be a short-lived token and in a reasonable timeframe');
    let header: { alg?: string; kid?: string };
    let claims: { iss?: string; aud?: string; exp?: number; iat?: number };
    try {
      header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    } catch {
      return refuse('Invalid JWT: not JSON');
    }
    if (header.alg !== 'RS256') return refuse(`Invalid JWT: alg ${String(header.alg)} is not RS256`);
    const now = Math.floor(Date.now() / 1000);
    if (claims.aud !== GOOGLE_TOKEN_AUDIENCE && claims.aud !== `${this.baseUrl()}token`) return refuse(`Invalid JWT: aud ${String(claims.aud)} is not the token endpoint`);
    if (typeof claims.exp !== 'number' || typeof claims.iat !== 'number' || claims.exp < now || claims.iat > now + 60 || claims.exp - claims.iat > TOKEN_TTL_S) {
      return refuse('Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe');
    }
    const live = [...this.keys.values()].filter((k) => k.account === claims.iss && !k.deleted && (!header.kid || header.kid === k.id));
    if (!live.length && ![...this.keys.values()].some((k) => k.account === claims.iss)) return refuse(`Invalid JWT Signature: no such service account ${String(claims.iss)}`);
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
    const signature = Buffer.from(parts[2]!, 'base64url');
    const key = live.find((k) => crypto.verify('sha256', signed, k.publicKeyPem, signature));
    if (!key) return refuse('Invalid JWT Signature.');
    const token = `emu.${crypto.randomBytes(24).toString('base64url')}`;
    this.tokens.set(token, { account: key.account, keyId: key.id, expires: Date.now() + TOKEN_TTL_S * 1000 });
    this.grants.issued++;
    return { status: 200, body: { access_token: token, expires_in: TOKEN_TTL_S, token_type: 'Bearer' } };
  }

  /** A bearer token this emulator issued, for a key still there (deleting a key revokes its tokens). */
  private caller(authorization: string | undefined): string {
    const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
    const t = token ? this.tokens.get(token) : undefined;
    if (!t || t.expires < Date.now() || this.keys.get(t.keyId)?.deleted) throw new ApiError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token.');
    return t.account;
  }

  /** `/v1/projects/{p}/serviceAccounts/{email}/keys[/{id}]`; undefined when the path is not IAM's. */
  api(method: string, pathname: string, authorization: string | undefined): IamReply | undefined {
    const m = /^\/v1\/projects\/([^/]+)\/serviceAccounts\/([^/]+)\/keys(?:\/([^/]+))?\/?$/.exec(pathname);
    if (!m) return undefined;
    this.caller(authorization);
    const account = decodeURIComponent(m[2]!);
    const keyId = m[3] ? decodeURIComponent(m[3]) : undefined;
    const known = [...this.keys.values()].filter((k) => k.account === account);
    if (!known.length) throw new ApiError(404, 'NOT_FOUND', `Service account projects/${decodeURIComponent(m[1]!)}/serviceAccounts/${account} does not exist.`);
    const name = (k: StoredKey) => `projects/${projectOf(account)}/serviceAccounts/${account}/keys/${k.id}`;
    const describe = (k: StoredKey) => ({ name: name(k), validAfterTime: k.validAfterTime, keyAlgorithm: 'KEY_ALG_RSA_2048', keyOrigin: 'GOOGLE_PROVIDED', keyType: 'USER_MANAGED' });
    if (!keyId && method === 'GET') return { status: 200, body: { keys: known.filter((k) => !k.deleted).map(describe) } };
    if (!keyId && method === 'POST') {
      const override = this.nextCreates.shift() ?? {};
      const file = this.issueKey(account);
      const k = this.keys.get(file.private_key_id!)!;
      if (override.loseResponse) return { status: 500, body: { error: { code: 500, message: 'Internal error (response lost, injected by the emulator).', status: 'INTERNAL' } } };
      const data = override.keyFile ?? file;
      const body: Record<string, unknown> = { ...describe(k), privateKeyType: 'TYPE_GOOGLE_CREDENTIALS_FILE', validBeforeTime: '9999-12-31T23:59:59Z' };
      if (!override.omitPrivateKeyData) body.privateKeyData = Buffer.from(JSON.stringify(data)).toString('base64');
      return { status: 200, body };
    }
    const k = keyId ? this.keys.get(keyId) : undefined;
    if (!k || k.account !== account || k.deleted) throw new ApiError(404, 'NOT_FOUND', `Service account key ${keyId} does not exist.`);
    if (method === 'GET') return { status: 200, body: { ...describe(k), publicKeyData: Buffer.from(k.publicKeyPem).toString('base64') } };
    if (method === 'DELETE') {
      k.deleted = new Date().toISOString();
      this.save();
      return { status: 200, body: {} };
    }
    return undefined;
  }
}

function projectOf(account: string): string {
  return /@([^.]+)\.iam\.gserviceaccount\.com$/.exec(account)?.[1] ?? 'atlas-emulator';
}
