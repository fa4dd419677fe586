// File modes (docs/safety.md#file-modes): whatever umask the operator's shell left, what atlas-ops
// creates is 0640 or tighter (folders 0750, pid records 0600); in an existing home made looser,
// atlas-ops tightens what it owns and `report security` names the rest.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config';
import { openOpsDb } from '../src/db/ops-db';
import { ensureHome } from '../src/home';
import { atlasPaths } from '../src/paths';
import { securityAudit } from '../src/reports/security';
import { REPO } from './helpers/env';
import { looserThanAllowed } from './helpers/modes';

const homes: string[] = [];
afterAll(() => {
  for (const h of homes) fs.rmSync(h, { recursive: true, force: true });
});

function tempHome(): string {
  const home = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-modes-')), 'home');
  homes.push(path.dirname(home));
  return home;
}

describe('file modes', () => {
  it('the CLI under umask 000 creates a home of 0640 files and 0750 folders', () => {
    const home = tempHome();
    fs.mkdirSync(home, { mode: 0o750 });
    const res = spawnSync('sh', ['-c', `umask 000; exec "${process.execPath}" bin/atlas-ops.js --home "${home}" demo seed --tasks 5`], { cwd: REPO, encoding: 'utf8' });
    expect(res.status, res.stderr).toBe(0);
    expect(fs.readdirSync(path.join(home, 'data'))).toEqual(expect.arrayContaining(['atlas.db', 'ops.db']));
    expect(looserThanAllowed(home)).toEqual([]);
  });

  it('an existing home made under umask 000: atlas-ops tightens its own paths, and the audit names the operator\'s', async () => {
    const home = tempHome();
    const p = atlasPaths(home);
    const loose = [
      'data/atlas.db', 'data/ops.db', 'data/.maintenance', 'data/atlas.db.replaced-20261101', 'backups/atlas_20261101-020000.db',
      'backups/atlas_20261101-020000.db.manifest.json', 'logs/backup.log', 'reports/security-2026-11-01.md', 'run/sqlite-web.pid',
      'config/atlas-ops.json', 'sheets-emulator.json',
    ];
    for (const dir of [home, p.dataDir, p.backupsDir, p.logsDir, p.configDir, p.reportsDir, p.runDir]) {
      fs.mkdirSync(dir, { recursive: true });
      fs.chmodSync(dir, 0o777);
    }
    for (const f of loose) {
      fs.writeFileSync(path.join(home, f), f === 'data/ops.db' ? '' : '{}');
      fs.chmodSync(path.join(home, f), 0o666);
    }

    const { tightened } = ensureHome(home);
    expect(tightened.map((f) => path.relative(home, f)).sort()).toEqual([
      'backups', 'backups/atlas_20261101-020000.db', 'backups/atlas_20261101-020000.db.manifest.json', 'data/.maintenance',
      'data/atlas.db.replaced-20261101', 'data/ops.db', 'logs', 'logs/backup.log', 'reports', 'reports/security-2026-11-01.md', 'run',
      'run/sqlite-web.pid', 'sheets-emulator.json',
    ]);
    expect(fs.statSync(path.join(home, 'logs/backup.log')).mode & 0o777).toBe(0o640);
    expect(fs.statSync(p.runDir).mode & 0o777).toBe(0o750);

    // The home, data/, config/ and the app's atlas.db are not atlas-ops' to change: reported, with the fix.
    const ops = openOpsDb(p.opsDb);
    try {
      const audit = await securityAudit({ config: loadConfig({ env: { ATLAS_HOME: home } }), paths: p, ops, now: new Date() });
      const finding = audit.findings.find((f) => f.startsWith('home closed to others: '));
      expect(finding).toBe(`home closed to others: ${home} (0777), ${p.configDir} (0777), ${path.join(p.configDir, 'atlas-ops.json')} (0666), ${p.dataDir} (0777), ${p.atlasDb} (0666) (run: chmod o-rwx on them)`);
    } finally {
      ops.close();
    }
  });
});
