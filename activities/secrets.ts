// Key rotation activities. The credentials file is read here, inside the activity, and only
// non-secret facts leave it (account, a short fingerprint, the mode): keys never enter history.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { appendLog } from '../src/log';
import type { ActivityContext } from './deps';
import { failure } from '../src/workflow-safe/failures';

export interface KeyCheck {
  ok: boolean;
  account?: string;
  /** First 16 hex digits of sha256(private key): tells keys apart without revealing one. */
  fingerprint?: string;
  mode?: string;
  probe: string;
  problems: string[];
}

const isLoopback = (url: string) => {
  const h = new URL(url).hostname;
  return h === 'localhost' || h.startsWith('127.') || h === '[::1]';
};

export function createSecretActivities(ctx: ActivityContext) {
  const credentials = () => ctx.config.sheets.credentials || path.join(ctx.paths.configDir, 'sheets-credentials.json');

  return {
    /**
     * Sheets auth with the installed key: a valid service-account file, then a token from Google
     * (or, against a loopback emulator, an answer from the endpoint).
     */
    async verifySheetsKey(): Promise<KeyCheck> {
      const file = credentials();
      const problems: string[] = [];
      let key: { type?: string; client_email?: string; private_key?: string; token_uri?: string };
      try {
        key = JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch (err) {
        return { ok: false, probe: 'not run', problems: [`${file}: ${(err as NodeJS.ErrnoException).code ?? 'not valid JSON'}`] };
      }
      const mode = (fs.statSync(file).mode & 0o777).toString(8).padStart(4, '0');
      if (key.type !== 'service_account') problems.push(`${file}: "type" is not "service_account"`);
      if (!key.client_email) problems.push(`${file}: no client_email`);
      let fingerprint: string | undefined;
      try {
        crypto.createPrivateKey(String(key.private_key ?? ''));
        fingerprint = crypto.createHash('sha256').update(String(key.private_key)).digest('hex').slice(0, 16);
      } catch {
        problems.push(`${file}: private_key is not a readable PEM key`);
      }
      if (mode !== '0600') problems.push(`${file} is mode ${mode}: run chmod 600 ${file}`);
      let probe = 'not run';
      if (!problems.length) {
        const rootUrl = ctx.config.sheets.rootUrl;
        try {
          if (isLoopback(rootUrl)) {
            // The emulator checks no signature: the probe asks for the configured spreadsheet (its root
            // is a 404), so an emulator that is down or has lost the sheet fails the verification.
            const { spreadsheetId } = ctx.config.sheets;
            const probeUrl = spreadsheetId ? new URL(`v4/spreadsheets/${encodeURIComponent(spreadsheetId)}`, rootUrl) : new URL(rootUrl);
            const res = await fetch(probeUrl, { signal: AbortSignal.timeout(ctx.config.monitoring.probeTimeout) });
            probe = `emulator ${probeUrl.host} answered ${res.status}`;
            if (!res.ok) problems.push(`Sheets auth with the new key failed: ${probe}`);
          } else {
            const { google } = await import('googleapis');
            const jwt = new google.auth.JWT({ email: key.client_email, key: key.private_key, scopes: ['https://www.googleapis.com/auth/spreadsheets'] });
            await jwt.authorize();
            probe = 'Google issued an access token for the new key';
          }
        } catch (err) {
          problems.push(`Sheets auth with the new key failed: ${(err as Error).message.slice(0, 200)}`);
        }
      }
      const result: KeyCheck = { ok: problems.length === 0, account: key.client_email, fingerprint, mode, probe, problems };
      appendLog(ctx.paths.log('procedures'), { event: 'sheets-key-verified', ...result });
      return result;
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
