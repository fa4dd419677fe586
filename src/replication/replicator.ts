// Runs `litestream replicate` for atlas.db with atlas-ops' configuration, restarting it when it
// exits (docs/safety.md#continuous-replica). `atlas-ops dev` supervises it in-process; in
// production `atlas-ops replication run` is the replicator's systemd service and systemd restarts it.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type { AtlasConfig } from '../config';
import type { AtlasPaths } from '../paths';
import { litestreamEnv, replicaFiles, writeLitestreamConfig } from './litestream';

export interface Replicator {
  /** pid of the running Litestream, undefined between a crash and its restart. */
  pid(): number | undefined;
  /** Stops Litestream until `resume()` (before atlas.db is checkpointed or replaced). */
  pause(): Promise<void>;
  /** Starts it again after `pause()`; nothing when it runs. */
  resume(): void;
  stop(): Promise<void>;
}

/** Spawns `litestream replicate`; its output is appended to logs/litestream.log. */
export function spawnLitestream(config: AtlasConfig, paths: AtlasPaths): ChildProcess {
  const env = litestreamEnv(config);
  const configFile = writeLitestreamConfig(config, paths);
  const files = replicaFiles(paths);
  fs.mkdirSync(paths.logsDir, { recursive: true });
  // A socket left by a killed Litestream would make the new one fail to listen.
  fs.rmSync(files.socket, { force: true });
  const log = fs.openSync(files.log, 'a');
  try {
    return spawn('litestream', ['replicate', '-config', configFile, '-no-expand-env'], { env, stdio: ['ignore', log, log] });
  } finally {
    fs.closeSync(log);
  }
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Keeps Litestream running until `stop()`: a crash is logged and restarted after `restartDelayMs`. */
export function superviseLitestream(config: AtlasConfig, paths: AtlasPaths, options: { log?: (line: string) => void; restartDelayMs?: number } = {}): Replicator {
  const log = options.log ?? (() => undefined);
  let child: ChildProcess | undefined;
  let stopping = false;
  let paused = false;
  let timer: NodeJS.Timeout | undefined;
  // Processes stopped on purpose (restart, stop): their exit is not a crash to restart from.
  const deliberate = new WeakSet<ChildProcess>();

  const start = () => {
    timer = undefined;
    if (stopping || paused) return;
    const c = spawnLitestream(config, paths);
    child = c;
    c.once('error', (err) => log(`litestream: ${err.message}`));
    c.once('exit', (code, signal) => {
      if (child === c) child = undefined;
      if (stopping || deliberate.has(c)) return;
      log(`litestream exited (${signal ?? `code ${code}`}); restarting in ${options.restartDelayMs ?? 2000} ms (see ${replicaFiles(paths).log})`);
      timer = setTimeout(start, options.restartDelayMs ?? 2000);
    });
  };
  const kill = async () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const c = child;
    if (!c) return;
    deliberate.add(c);
    // SIGTERM: Litestream finishes its current sync and closes its socket.
    c.kill('SIGTERM');
    const forced = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await exited(c);
    clearTimeout(forced);
  };
  start();
  return {
    pid: () => child?.pid,
    async pause() {
      paused = true;
      await kill();
    },
    resume() {
      paused = false;
      if (!child && !timer && !stopping) start();
    },
    async stop() {
      stopping = true;
      await kill();
    },
  };
}

