// Real processes holding atlas.db open, and a recording `systemctl` stand-in, for the tests of
// "no swap under a live writer" (docs/safety.md#no-swap-under-a-live-writer).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { databaseHolders } from '../../src/db/holders';
import { eventually, REPO } from './env';

/**
 * A real writer: another process with the database open in WAL mode through better-sqlite3,
 * inserting a row every 100 ms (`writes: false`: one row, then idle). Resolves once /proc shows it.
 */
export async function holdOpen(db: string, options: { writes?: boolean } = {}): Promise<ChildProcess> {
  const insert = "d.prepare(\"INSERT INTO errors (at, source, level, message) VALUES ('2026-01-03T00:00:00Z', 'holder', 'info', 'held')\").run()";
  const body = options.writes === false ? `${insert};setInterval(()=>{},1000)` : `setInterval(()=>${insert},100)`;
  const holder = spawn(process.execPath, ['-e', `const D=require('better-sqlite3');const d=new D(${JSON.stringify(db)});d.pragma('journal_mode = WAL');${body}`], { cwd: REPO, stdio: 'ignore' });
  await eventually(() => databaseHolders(db).some((h) => h.pid === holder.pid), 60_000, 'the holder has the database open');
  return holder;
}

/** Ends the holder (SIGTERM) and waits for it; nothing when it has already exited. */
export async function stopHolder(holder: ChildProcess): Promise<void> {
  if (holder.exitCode !== null || holder.signalCode !== null) return;
  const exited = new Promise((r) => holder.once('exit', r));
  holder.kill();
  await exited;
}

/** A `systemctl` that records every call and reports every unit active; `bin` goes first on PATH. */
export function recordingSystemctl(): { bin: string; calls(): string[]; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-systemctl-'));
  const log = path.join(dir, 'calls');
  fs.writeFileSync(path.join(dir, 'systemctl'), `#!/bin/sh\necho "$*" >> ${log}\nif [ "$1" = is-active ]; then echo active; fi\nexit 0\n`, { mode: 0o755 });
  return {
    bin: dir,
    calls: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : []),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
