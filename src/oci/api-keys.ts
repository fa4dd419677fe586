// OCI API signing keys as key rotation handles them: the fingerprint OCI computes (MD5 of the DER
// public key, colon-separated hex), the profile of an OCI CLI config file read and rewritten with a
// new key_file and fingerprint, and the Identity client.
import crypto from 'node:crypto';
import type { IdentityClient } from 'oci-identity';
import type { AtlasConfig } from '../config';
import { ociServiceClient } from './blockstorage';

export function ociFingerprint(publicKey: crypto.KeyObject | string): string {
  const key = typeof publicKey !== 'string' && publicKey.type === 'public' ? publicKey : crypto.createPublicKey(publicKey);
  const der = key.export({ type: 'spki', format: 'der' });
  return crypto.createHash('md5').update(der).digest('hex').match(/../g)!.join(':');
}

/** The value of `name` in the `[DEFAULT]` profile of an OCI CLI config text. */
export function profileValue(text: string, name: string): string | undefined {
  let inDefault = false;
  for (const line of text.split('\n')) {
    const section = /^\s*\[(.+)\]\s*$/.exec(line);
    if (section) inDefault = section[1] === 'DEFAULT';
    const kv = /^\s*([A-Za-z_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (inDefault && kv && kv[1] === name) return kv[2];
  }
  return undefined;
}

/** The config text with `key_file` and `fingerprint` of `[DEFAULT]` replaced, every other line kept. */
export function withKey(text: string, keyFile: string, fingerprint: string): string {
  let inDefault = false;
  const values: Record<string, string> = { key_file: keyFile, fingerprint };
  return text
    .split('\n')
    .map((line) => {
      const section = /^\s*\[(.+)\]\s*$/.exec(line);
      if (section) inDefault = section[1] === 'DEFAULT';
      const kv = /^\s*([A-Za-z_]+)\s*=/.exec(line);
      return inDefault && kv && values[kv[1]!] !== undefined ? `${kv[1]}=${values[kv[1]!]}` : line;
    })
    .join('\n');
}

export async function identityClient(config: AtlasConfig): Promise<IdentityClient> {
  const { IdentityClient } = await import('oci-identity');
  return ociServiceClient(config, IdentityClient, { regionalEndpoint: true });
}
