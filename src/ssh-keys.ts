// SSH keys in the configured authorized_keys files (`access.sshKeySources`), read one way for both
// their readers: the access review lists them, key rotation checks the new key is in and the old one
// gone. Fingerprints as `ssh-keygen -lf` prints them (SHA256 of the key blob, base64 without padding).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { runningUser } from './command-runner';

/** `SHA256:` and 43 base64 characters: the form ssh-keygen -l prints and the CLI accepts. */
export const SSH_FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** A key type as authorized_keys writes it (`ssh-ed25519`, `ecdsa-sha2-nistp256`, `sk-…@openssh.com`, certificates). */
const KEY_TYPE = /^(ssh|ecdsa|sk)-[\w@.-]+$/;

export function sshFingerprint(blobBase64: string): string {
  return `SHA256:${crypto.createHash('sha256').update(Buffer.from(blobBase64, 'base64')).digest('base64').replace(/=+$/, '')}`;
}

/** One key an authorized_keys file lets in: its type, fingerprint and comment (the key itself is not kept). */
export interface AuthorizedKey {
  type: string;
  fingerprint: string;
  comment: string;
}

/** The keys of an authorized_keys text (options before the key type are skipped, comments and blank lines too). */
export function authorizedKeys(text: string): AuthorizedKey[] {
  const out: AuthorizedKey[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (!fields[0] || fields[0].startsWith('#')) continue;
    const at = fields.findIndex((f) => KEY_TYPE.test(f));
    const blob = at >= 0 ? fields[at + 1] : undefined;
    if (blob && /^[A-Za-z0-9+/]+={0,2}$/.test(blob)) out.push({ type: fields[at]!, fingerprint: sshFingerprint(blob), comment: fields.slice(at + 2).join(' ') });
  }
  return out;
}

/**
 * One configured SSH key source (`access.sshKeySources`): an authorized_keys file, and the user it lets
 * in when the entry names one. The access review reads these files; key rotation checks them.
 */
export interface KeySource {
  user?: string;
  file: string;
}

/** "user deploy (/etc/ssh/authorized_keys/deploy)" or the file alone: how messages name a source. */
export function keySourceName(source: KeySource): string {
  return source.user ? `user ${source.user} (${source.file})` : source.file;
}

/** `/absolute/path` or `user:/absolute/path` entries, the paths normalized; throws naming the first bad entry. */
export function parseKeySources(entries: unknown[], where: string): KeySource[] {
  return entries.map((entry) => {
    const m = typeof entry === 'string' ? /^(?:([a-z_][a-z0-9_.-]*):)?(\/.*)$/.exec(entry) : null;
    if (!m) throw new Error(`${where}: ${JSON.stringify(entry)} is not an absolute path or user:/absolute/path (an authorized_keys file such as "/etc/ssh/authorized_keys/ops" or "deploy:/etc/ssh/authorized_keys/deploy")`);
    return m[1] ? { user: m[1], file: path.normalize(m[2]!) } : { file: path.normalize(m[2]!) };
  });
}

/** Why a source cannot be read, in words that say what to change (docs/safety.md#the-worker-as-deployed). */
function unreadableReason(file: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  if (code === 'ENOENT' && /^\/(root|home)(\/|$)/.test(file)) return `${code}: the deployed worker does not see /root and /home (ProtectHome=); list a copy its user can read in access.sshKeySources`;
  if (code === 'EACCES') return `${code}: ${runningUser()} may not read it; make it readable to that user, or list a copy it can read`;
  return code;
}

/** The keys of one configured source, or why it cannot be read: what the access review and key rotation both see. */
export function readKeySource(source: KeySource): { keys: AuthorizedKey[] } | { unreadable: string } {
  try {
    return { keys: authorizedKeys(fs.readFileSync(source.file, 'utf8')) };
  } catch (err) {
    return { unreadable: unreadableReason(source.file, err) };
  }
}

/** What is wrong with the rotation in one source: the new key missing, the old one still there. */
export function rotationProblem(source: KeySource, newFingerprint: string, oldFingerprint: string): string | undefined {
  const who = source.user ? `user ${source.user}: ` : '';
  const read = readKeySource(source);
  if ('unreadable' in read) return `${who}${source.file} cannot be read (${read.unreadable})`;
  const present = read.keys.map((k) => k.fingerprint);
  if (!present.includes(newFingerprint)) return `${who}the new key ${newFingerprint} is not in ${source.file}`;
  if (present.includes(oldFingerprint)) return `${who}the old key ${oldFingerprint} is still in ${source.file}`;
  return undefined;
}
