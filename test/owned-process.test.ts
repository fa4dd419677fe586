// A process atlas-ops stops must be one it started and can prove it (src/owned-process.ts): the pid
// file's pid, start time and command line all match /proc, or nothing is signalled.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ownershipOf, recordProcess, stopRecordedProcess } from '../src/owned-process';
import { procStat } from '../src/proc';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-owned-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A harmless process in its own group, as atlas-ops starts helpers. */
function sleeper(): ChildProcess & { pid: number } {
  const child = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
  children.push(child);
  return child as ChildProcess & { pid: number };
}

const alive = (pid: number) => {
  const s = procStat(pid);
  return s !== undefined && s.state !== 'Z';
};

describe('processes atlas-ops stops', () => {
  it('records pid, start time and command line in a 0600 file, and stops the process it names', async () => {
    const child = sleeper();
    const file = path.join(dir, 'ours.pid');
    const record = recordProcess(file, child.pid, { settled: true });
    expect(record).toEqual({ pid: child.pid, startTime: procStat(child.pid)!.startTime, cmdline: ['sleep', '300'] });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(ownershipOf(file).state).toBe('ours');
    expect(await stopRecordedProcess(file)).toEqual({ outcome: 'stopped', pid: child.pid });
    await new Promise((r) => setTimeout(r, 100));
    expect(alive(child.pid)).toBe(false);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('a bare pid in the file: the process it names is left running', async () => {
    const foreign = sleeper();
    const file = path.join(dir, 'bare.pid');
    fs.writeFileSync(file, String(foreign.pid));
    const r = await stopRecordedProcess(file);
    expect(r).toMatchObject({ outcome: 'unproven', pid: foreign.pid });
    expect(r.reason).toContain('holds no start time');
    expect(alive(foreign.pid)).toBe(true);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('a record whose start time or command line does not match /proc: left running', async () => {
    const foreign = sleeper();
    const file = path.join(dir, 'edited.pid');
    const real = procStat(foreign.pid)!.startTime;
    fs.writeFileSync(file, JSON.stringify({ pid: foreign.pid, startTime: String(Number(real) - 1) }));
    expect(await stopRecordedProcess(file)).toMatchObject({ outcome: 'unproven', reason: expect.stringContaining(`not ${Number(real) - 1}`) });
    fs.writeFileSync(file, JSON.stringify({ pid: foreign.pid, startTime: real, cmdline: ['sqlite_web', '--port', '8002'] }));
    expect(await stopRecordedProcess(file)).toMatchObject({ outcome: 'unproven', reason: expect.stringContaining('runs "sleep 300", not "sqlite_web --port 8002"') });
    expect(alive(foreign.pid)).toBe(true);
  });

  it('a record of a process that has ended: nothing to stop, the file is removed', async () => {
    const child = sleeper();
    const file = path.join(dir, 'gone.pid');
    recordProcess(file, child.pid, { settled: true });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(await stopRecordedProcess(file)).toEqual({ outcome: 'gone', pid: child.pid });
    expect(fs.existsSync(file)).toBe(false);
  });
});
