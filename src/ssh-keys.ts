// SSH public keys as key rotation verifies them: fingerprints as `ssh-keygen -lf` prints them
// (SHA256 of the key blob, base64 without padding) and the keys an authorized_keys file lets in.
import crypto from 'node:crypto';
import fs from 'node:fs';

/** `SHA256:` and 43 base64 characters: the form ssh-keygen -l prints and the CLI accepts. */
export const SSH_FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

const KEY_TYPE = /^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)$/;

export function sshFingerprint(blobBase64: string): string {
  return `SHA256:${crypto.createHash('sha256').update(Buffer.from(blobBase64, 'base64')).digest('base64').replace(/=+$/, '')}`;
}

/** Fingerprints of the keys in an authorized_keys text (options before the key type are skipped). */
export function authorizedFingerprints(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (!fields[0] || fields[0].startsWith('#')) continue;
    const at = fields.findIndex((f) => KEY_TYPE.test(f));
    const blob = at >= 0 ? fields[at + 1] : undefined;
    if (blob && /^[A-Za-z0-9+/]+={0,2}$/.test(blob)) out.push(sshFingerprint(blob));
  }
  return out;
}

/** A configured `user:/path/to/authorized_keys` entry. */
export interface AuthorizedKeysFile {
  user: string;
  file: string;
}

/** `user:/absolute/path` entries, each problem naming the entry. */
export function parseAuthorizedKeysFiles(entries: string[], field: string): { files: AuthorizedKeysFile[]; problems: string[] } {
  const files: AuthorizedKeysFile[] = [];
  const problems: string[] = [];
  for (const entry of entries) {
    const m = /^([a-z_][a-z0-9_.-]*):(\/.+)$/.exec(entry);
    if (m) files.push({ user: m[1]!, file: m[2]! });
    else problems.push(`${field}: "${entry}" is not user:/absolute/path/to/authorized_keys`);
  }
  return { files, problems };
}

/** What is wrong with the rotation in one user's file: the new key missing, the old one still there. */
export function authorizedKeysProblem(entry: AuthorizedKeysFile, newFingerprint: string, oldFingerprint: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(entry.file, 'utf8');
  } catch (err) {
    return `user ${entry.user}: ${entry.file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  const present = authorizedFingerprints(text);
  if (!present.includes(newFingerprint)) return `user ${entry.user}: the new key ${newFingerprint} is not in ${entry.file}`;
  if (present.includes(oldFingerprint)) return `user ${entry.user}: the old key ${oldFingerprint} is still in ${entry.file}`;
  return undefined;
}
