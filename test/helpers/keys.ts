// Keys for key rotation tests, made at test time (no key material is committed): a service-account
// key issued by the Sheets emulator's IAM and installed as the credentials file, SSH keys from the
// real ssh-keygen, and the pieces of a PEM key a leak check looks for.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SheetsEmulator } from '../../src/sheets-emulator';

/** Issues a key for `account` in the emulator and installs it as `file` (0600); returns the key file. */
export function installIssuedKey(emu: SheetsEmulator, account: string, file: string): Record<string, string> {
  const key = emu.iam.issueKey(account);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(key), { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return key;
}

/** Distinctive pieces of a PEM key: every full body line, runs of the base64 body across line breaks, the DER as hex. */
export function secretPieces(pem: string): string[] {
  const lines = pem.split('\n').filter((l) => l && !l.startsWith('-----'));
  const body = lines.join('');
  const der = Buffer.from(body, 'base64');
  return [...lines.filter((l) => l.length === 64), body.slice(40, 100), body.slice(-120, -60), der.subarray(100, 140).toString('hex')];
}

/** A fresh ed25519 key by ssh-keygen: its authorized_keys line and the fingerprint ssh-keygen -lf prints. */
export function sshKey(comment: string): { line: string; fingerprint: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-ssh-'));
  try {
    const file = path.join(dir, 'id');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
    const fingerprint = execFileSync('ssh-keygen', ['-lf', `${file}.pub`], { encoding: 'utf8' }).split(' ')[1]!;
    return { line: fs.readFileSync(`${file}.pub`, 'utf8').trim(), fingerprint };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
