// The CLI follows the dev stack running in its home (run/dev.json, src/dev-settings.ts): with no
// option of its own, `doctor sheets` probes the emulator dev started and the links it prints use
// dev's Web UI port; a run/dev.json whose dev is gone is said on stderr and ignored.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { devSettingsFile, readDevSettings, writeDevSettings } from '../src/dev-settings';
import { allocatePort, listenOnPickedPort } from '../src/ports';
import { useAtlas } from './helpers/atlas';
import { runCli } from './helpers/env';

describe('run/dev.json', () => {
  const t = useAtlas({ worker: true });

  /** A pid that no process has any more. */
  const deadPid = () => spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim();

  it('doctor sheets probes the Sheets emulator the running dev stack started', async () => {
    const requests: string[] = [];
    const server = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      res.end('{}');
    });
    const port = await listenOnPickedPort(server);
    try {
      writeDevSettings(t.home, { 'sheets.rootUrl': `http://127.0.0.1:${port}/`, 'sheets.spreadsheetId': 'dev-sheet' });
      expect(fs.statSync(devSettingsFile(t.home)).mode & 0o777).toBe(0o640);
      const r = await runCli(t, ['--json', 'doctor', 'sheets']);
      const report = JSON.parse(r.stdout) as { checks: { name: string; ok: boolean; detail: string }[] };
      expect(report.checks.find((c) => c.name === 'tcp')?.detail).toBe(`127.0.0.1:${port} accepts connections`);
      expect(requests.length).toBeGreaterThan(0);
    } finally {
      fs.rmSync(devSettingsFile(t.home), { force: true });
      await new Promise((r) => server.close(r));
    }
  });

  it('the Web UI links printed use the UI port dev started; a stale run/dev.json is said and ignored', async () => {
    const uiPort = await allocatePort();
    writeDevSettings(t.home, { 'temporal.uiUrl': `http://127.0.0.1:${uiPort}` });
    try {
      const live = await runCli(t, ['--json', 'backup']);
      expect(live.code, live.stderr).toBe(0);
      expect(JSON.parse(live.stdout).url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${uiPort}/namespaces/default/workflows/backup-`));
      expect(live.stderr).not.toContain('ignoring');

      // The dev that wrote it is gone: its UI port must not be used, and the operator is told.
      const file = devSettingsFile(t.home);
      const body = JSON.parse(fs.readFileSync(file, 'utf8')) as { process: { pid: number } };
      body.process.pid = Number(deadPid());
      fs.writeFileSync(file, JSON.stringify(body));
      expect(readDevSettings(t.home).state).toBe('stale');
      const stale = await runCli(t, ['--json', 'backup']);
      expect(stale.code, stale.stderr).toBe(0);
      expect(stale.stderr).toContain(`ignoring ${file}: the dev stack that wrote it (pid ${body.process.pid}`);
      expect(stale.stderr).toContain('is not running');
      expect(JSON.parse(stale.stdout).url).not.toContain(`:${uiPort}/`);
    } finally {
      fs.rmSync(devSettingsFile(t.home), { force: true });
    }
  });

  it('an explicit setting wins over run/dev.json', async () => {
    const uiPort = await allocatePort();
    writeDevSettings(t.home, { 'temporal.uiUrl': `http://127.0.0.1:${uiPort}` });
    try {
      const r = await runCli(t, ['--json', 'backup'], { ATLAS_TEMPORAL_UI_URL: 'http://127.0.0.1:9999' });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).url).toMatch(/^http:\/\/127\.0\.0\.1:9999\//);
    } finally {
      fs.rmSync(devSettingsFile(t.home), { force: true });
    }
  });
});
