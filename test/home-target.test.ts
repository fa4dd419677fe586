// A procedure acts on the home (and host) the operator named, or is refused naming both homes
// (docs/safety.md#the-home-and-host-asked): the CLI refuses before starting anything when the
// worker on the host queue serves another home, and the worker refuses a procedure started with
// another home (from a raw client or the Web UI). The worker's home is left byte-identical.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureHome } from '../src/home';
import { takeSnapshot } from '../src/db/snapshot';
import { targetMismatch } from '../src/target';
import { useAtlas } from './helpers/atlas';
import { runCli, uid } from './helpers/env';

const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const listing = (dir: string) => fs.readdirSync(dir).sort();

describe('--home and the worker\'s home', () => {
  let other: string;
  let backup: string;
  const t = useAtlas({
    worker: true,
    async prepare(a) {
      other = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-other-home-'));
      ensureHome(other, { demo: true, seedTasks: 10 });
      a.defer(() => fs.rmSync(other, { recursive: true, force: true }));
      // The same backup name in both homes: a worker that ignored --home would restore its own.
      backup = (await takeSnapshot({ source: path.join(a.home, 'data', 'atlas.db'), backupsDir: path.join(a.home, 'backups'), reason: 'home test' })).file;
      for (const f of [backup, `${backup}.manifest.json`]) fs.copyFileSync(path.join(a.home, 'backups', f), path.join(other, 'backups', f));
    },
  });

  /** What must not change: both atlas.db files and both backups folders. */
  const state = () => ({
    worker: sha(path.join(t.home, 'data', 'atlas.db')),
    other: sha(path.join(other, 'data', 'atlas.db')),
    workerBackups: listing(path.join(t.home, 'backups')),
    otherBackups: listing(path.join(other, 'backups')),
  });

  it.each([
    ['db restore', ['db', 'restore', '<backup>', '--wait']],
    ['backup', ['backup', '--wait']],
  ])('--home <other> %s is refused before anything starts, naming both homes (exit 2)', async (_name, args) => {
    const before = state();
    const r = await runCli(t, ['--home', other, ...args.map((x) => (x === '<backup>' ? backup : x))]);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain(`this worker serves ${fs.realpathSync(t.home)}, the procedure asked for ${fs.realpathSync(other)}: start a worker for ${fs.realpathSync(other)} or drop --home`);
    expect(r.stderr).toMatch(/nothing was started/);
    // changed on disk: nothing
    expect(state()).toEqual(before);
  });

  it.each([
    ['restore', () => ({ backup })],
    ['backup', () => ({ reason: 'home test' })],
  ])('a %s started with another home (raw client) fails WrongTarget on the worker, naming both homes', async (workflowType, input) => {
    const before = state();
    const err = await t.client.workflow
      .execute(workflowType, { taskQueue: t.config.taskQueue, workflowId: `home-${workflowType}-${uid()}`, args: [{ ...input(), home: other }] })
      .catch((e: unknown) => e);
    const cause = (err as { cause?: { type?: string; message: string } }).cause;
    expect(cause?.type).toBe('WrongTarget');
    expect(cause?.message).toContain(`this worker serves ${t.home}, the procedure asked for ${other}`);
    // changed on disk: nothing
    expect(state()).toEqual(before);
  });

  it('the worker\'s own home, spelled through a symlink, is the same home: the backup runs', async () => {
    const link = path.join(os.tmpdir(), `atlas-home-link-${uid()}`);
    fs.symlinkSync(t.home, link);
    try {
      const result = await t.client.workflow.execute('backup', { taskQueue: t.config.taskQueue, workflowId: `home-link-${uid()}`, args: [{ reason: 'home test', home: link }] });
      expect((result as { outcome: string }).outcome).toBe('completed');
    } finally {
      fs.rmSync(link);
    }
  });

  it('a worker refuses a procedure that names another host queue, in the same words', () => {
    const serves = { home: '/a', hostQueue: 'atlas-ops@a' };
    expect(targetMismatch(serves, { home: '/a', hostQueue: 'atlas-ops@a' })).toBeUndefined();
    expect(targetMismatch(serves, { home: '/b' })).toBe('this worker serves /a, the procedure asked for /b: start a worker for /b or drop --home');
    expect(targetMismatch(serves, { hostQueue: 'atlas-ops@b' })).toMatch(/serves host queue atlas-ops@a, the procedure asked for atlas-ops@b/);
  });
});
