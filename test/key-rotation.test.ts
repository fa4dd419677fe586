// keyRotation end to end against a loopback "Sheets" endpoint: reminder alert, a bad install
// rejected (mode 0644), a good one verified, revoke, the date recorded for the security audit —
// and the key material nowhere in the workflow history, result or logs.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openOpsDb } from '../src/db/ops-db';
import { atlasPaths } from '../src/paths';
import { runReport } from '../src/reports';
import { statusQuery } from '../workflows/lib/procedure';
import { keyInstalledSignal, oldKeyRevokedSignal, type KeyRotationResult } from '../workflows/key-rotation';
import { useAtlas } from './helpers/atlas';
import { eventually, runCli } from './helpers/env';
import { decodedHistory } from './helpers/history';

// The stand-in endpoint answers what the test sets, and counts the probes it received.
const endpoint = { status: 200, probes: 0 };
const t = useAtlas({
  sheetsEndpoint: (_req, res) => {
    endpoint.probes++;
    res.writeHead(endpoint.status, { 'content-type': 'application/json' }).end('{}');
  },
  worker: true,
});

describe('keyRotation', () => {
  it('waits for the key, rejects a bad install, verifies, waits for revocation, records the date; no secret in history', async () => {
    const paths = atlasPaths(t.home);
    const cred = path.join(paths.configDir, 'sheets-credentials.json');
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const secretPiece = pem.split('\n')[5]!;
    const key = { type: 'service_account', client_email: 'atlas@proj.iam.gserviceaccount.com', private_key_id: 'abc123', private_key: pem };

    const start = await runCli(t, ['--json', 'key-rotation', 'start']);
    expect(start.code, start.stderr).toBe(0);
    const id = JSON.parse(start.stdout).workflowId as string;
    const handle = t.client.workflow.getHandle(id);
    await eventually(async () => (await handle.query(statusQuery)).phase === 'install', 30_000, 'install phase');
    const ops = openOpsDb(paths.opsDb);
    try {
      await eventually(() => ops.prepare('SELECT 1 FROM alerts WHERE code = ? AND resolved_at IS NULL').get(`key-rotation:${id}`), 30_000, 'reminder alert');

      // Installed with the wrong mode: verification fails, and it waits for the key again.
      fs.writeFileSync(cred, JSON.stringify(key), { mode: 0o644 });
      fs.chmodSync(cred, 0o644);
      await handle.signal(keyInstalledSignal, { by: 'dana' });
      await eventually(async () => ((await handle.query(statusQuery)).facts as unknown as KeyRotationResult).failedVerifications === 1, 30_000, 'failed verification');
      await eventually(async () => (await handle.query(statusQuery)).phase === 'install', 30_000, 'back to install');
      const warn = ops.prepare('SELECT message FROM alerts WHERE code = ?').pluck().get(`key-rotation-verify:${id}`) as string;
      expect(warn).toContain('is mode 0644: run chmod 600');

      // No probe was made for a key that failed the local checks.
      expect(endpoint.probes).toBe(0);

      // Mode fixed, but the endpoint refuses the key: still not verified, and said why.
      fs.chmodSync(cred, 0o600);
      endpoint.status = 401;
      await handle.signal(keyInstalledSignal, { by: 'dana' });
      await eventually(async () => ((await handle.query(statusQuery)).facts as unknown as KeyRotationResult).failedVerifications === 2, 30_000, 'refused verification');
      await eventually(async () => (await handle.query(statusQuery)).phase === 'install', 30_000, 'back to install after the refusal');
      expect(endpoint.probes).toBe(1);
      expect(ops.prepare('SELECT message FROM alerts WHERE code = ?').pluck().get(`key-rotation-verify:${id}`)).toMatch(/answered 401/);

      endpoint.status = 200;
      const installed = await runCli(t, ['key-rotation', 'installed', id, '--by', 'dana']);
      expect(installed.code, installed.stderr).toBe(0);
      await eventually(async () => (await handle.query(statusQuery)).phase === 'revoke', 30_000, 'revoke phase');
      await handle.signal(oldKeyRevokedSignal, { by: 'lee', note: 'old key deleted in console' });
      const result = (await handle.result()) as KeyRotationResult;
      expect(result).toMatchObject({ outcome: 'completed', account: key.client_email, failedVerifications: 2, installedBy: 'dana', revokedBy: 'lee' });
      expect(result.fingerprint).toMatch(/^[0-9a-f]{16}$/);
      expect(result.verification).toMatch(/^emulator 127\.0\.0\.1:\d+ answered 200$/);
      expect(endpoint.probes).toBe(2);
      const row = ops.prepare("SELECT * FROM key_rotations WHERE key = 'sheets'").get() as { rotated_at: string; workflow_id: string };
      expect(row).toMatchObject({ rotated_at: result.rotatedAt, workflow_id: id });
    } finally {
      ops.close();
    }

    // The audit reads the recorded rotation.
    const ops2 = openOpsDb(paths.opsDb);
    try {
      const audit = await runReport('security', { config: t.config, paths, ops: ops2, now: new Date() });
      expect(audit.data.checks).toEqual(expect.arrayContaining([expect.objectContaining({ check: 'Sheets key age', ok: true, detail: expect.stringContaining('0 days since the last recorded rotation') })]));
    } finally {
      ops2.close();
    }

    // Secrets never in history, results or logs.
    // Payloads decoded to text, so the search sees what any reader of the history would.
    const history = decodedHistory(await handle.fetchHistory());
    expect(history).toContain(key.client_email);
    expect(history).not.toContain(secretPiece);
    expect(history).not.toContain('PRIVATE KEY');
    for (const f of fs.readdirSync(paths.logsDir)) expect(fs.readFileSync(path.join(paths.logsDir, f), 'utf8')).not.toContain(secretPiece);
  });
});
