// One configured list of authorized_keys files (access.sshKeySources) read by both its consumers: the
// access review and key rotation's SSH check see the same keys in the same files, from real files in a
// temp dir, through each consumer's own entry point (the report, the activities).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { ActivityContext } from '../activities/deps';
import { createSecretActivities } from '../activities/secrets';
import { loadConfig } from '../src/config';
import { openOpsDb } from '../src/db/ops-db';
import { ensureHome } from '../src/home';
import { accessReview, type ReviewedKey } from '../src/reports/access';
import { sshKey } from './helpers/keys';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-ssh-sources-'));
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

describe('access.sshKeySources', () => {
  it('the access review and key rotation read the same configured files and see the same keys', async () => {
    const { paths } = ensureHome(home);
    const ops = path.join(home, 'keys', 'ops');
    const deploy = path.join(home, 'keys', 'deploy');
    fs.mkdirSync(path.dirname(ops));
    // The one list, as an operator writes it: a plain path and one naming its user.
    fs.writeFileSync(path.join(paths.configDir, 'atlas-ops.json'), JSON.stringify({ access: { sshKeySources: [ops, `deploy:${deploy}`] } }));
    const config = loadConfig({ env: { ATLAS_HOME: home } });
    const [oldKey, newKey, ci] = [sshKey('old@ops'), sshKey('new@ops'), sshKey('ci@deploy')];

    const ctx = new ActivityContext({ config, client: {} as Client }); // the SSH activities use no Temporal client
    const secrets = createSecretActivities(ctx);
    const db = openOpsDb(paths.opsDb);
    const review = async () => {
      const r = await accessReview({ config, paths, ops: db, now: new Date() });
      return { keys: (r.data.sshKeys as ReviewedKey[]).map((k) => `${k.file} ${k.fingerprint}`).sort(), findings: r.findings.filter((f) => !/world-readable/.test(f)) };
    };
    const rotationError = async () => secrets.verifySshKeys({ newFingerprint: newKey.fingerprint, oldFingerprint: oldKey.fingerprint }).then(() => 'verified', (err: Error) => err.message);
    try {
      expect((await secrets.keyRotationPlan()).sshUsers).toEqual([ops, `user deploy (${deploy})`]);

      // Before the rotation: the review sees the old key in both files; rotation finds the new key in neither.
      fs.writeFileSync(ops, `${oldKey.line}\n`);
      fs.writeFileSync(deploy, `${oldKey.line}\ncommand="true",no-pty ${ci.line}\n`);
      expect((await review()).keys).toEqual([`${deploy} ${ci.fingerprint}`, `${deploy} ${oldKey.fingerprint}`, `${ops} ${oldKey.fingerprint}`].sort());
      const before = await rotationError();
      expect(before).toContain(`the new key ${newKey.fingerprint} is not in ${ops}`);
      expect(before).toContain(`user deploy: the new key ${newKey.fingerprint} is not in ${deploy}`);

      // Rotated in both: the review sees the new key where rotation checked it, and the old one nowhere.
      fs.writeFileSync(ops, `# rotated\n${newKey.line}\n`);
      fs.writeFileSync(deploy, `${newKey.line}\ncommand="true",no-pty ${ci.line}\n`);
      expect((await review()).keys).toEqual([`${deploy} ${ci.fingerprint}`, `${deploy} ${newKey.fingerprint}`, `${ops} ${newKey.fingerprint}`].sort());
      expect(await secrets.verifySshKeys({ newFingerprint: newKey.fingerprint, oldFingerprint: oldKey.fingerprint })).toEqual({ checked: [ops, `user deploy (${deploy})`] });

      // A source neither can read: both name it, with the same reason.
      fs.rmSync(deploy);
      fs.mkdirSync(deploy);
      expect((await review()).findings).toContain(`${deploy} cannot be read (EISDIR): its keys were not reviewed`);
      expect(await rotationError()).toContain(`user deploy: ${deploy} cannot be read (EISDIR)`);
    } finally {
      db.close();
      ctx.close();
    }
  });
});
