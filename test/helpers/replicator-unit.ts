// The replicator as systemd runs it in production, for tests whose worker is a child process (it
// has no in-process replicator and stops and starts `replica.unit` through `systemctl`): a
// `systemctl` stand-in that records every call and, for the replica unit only, really starts
// `atlas-ops replication run` in its own session (it outlives a SIGKILLed worker, as a unit does)
// and stops it with SIGTERM, waiting for it to exit. Other units are only recorded.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO } from './env';

export interface ReplicatorUnit {
  /** Put first on PATH. */
  bin: string;
  calls(): string[];
  /** pid of the running replicator (`atlas-ops replication run`), undefined when stopped. */
  pid(): number | undefined;
  /** `systemctl start|stop <unit>` as the worker would run it, with this environment. */
  systemctl(verb: 'start' | 'stop', env: NodeJS.ProcessEnv): void;
  remove(env: NodeJS.ProcessEnv): void;
}

export function replicatorUnit(unit: string): ReplicatorUnit {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-replicator-unit-'));
  const pidFile = path.join(dir, 'replicator.pid');
  const q = JSON.stringify;
  fs.writeFileSync(
    path.join(dir, 'systemctl'),
    `#!/bin/sh
echo "$*" >> ${q(path.join(dir, 'calls'))}
[ "$2" = ${q(unit)} ] || { [ "$1" = is-active ] && echo active; exit 0; }
alive() { [ -r /proc/$1/status ] && ! grep -q '^State:[[:space:]]*Z' /proc/$1/status; }
case "$1" in
  start)
    if [ -f ${q(pidFile)} ] && alive "$(cat ${q(pidFile)})"; then exit 0; fi
    setsid ${q(process.execPath)} ${q(path.join(REPO, 'bin', 'atlas-ops.js'))} replication run >> ${q(path.join(dir, 'replicator.log'))} 2>&1 < /dev/null &
    echo $! > ${q(pidFile)} ;;
  stop)
    if [ -f ${q(pidFile)} ]; then
      pid=$(cat ${q(pidFile)}); kill -TERM "$pid" 2>/dev/null
      while alive "$pid"; do sleep 0.1; done
      rm -f ${q(pidFile)}
    fi ;;
  is-active)
    if [ -f ${q(pidFile)} ] && alive "$(cat ${q(pidFile)})"; then echo active; else echo inactive; exit 3; fi ;;
esac
exit 0
`,
    { mode: 0o755 },
  );
  const run = (verb: string, env: NodeJS.ProcessEnv) => execFileSync(path.join(dir, 'systemctl'), [verb, unit], { env: { ...process.env, ...env }, stdio: 'ignore' });
  return {
    bin: dir,
    calls: () => (fs.existsSync(path.join(dir, 'calls')) ? fs.readFileSync(path.join(dir, 'calls'), 'utf8').trim().split('\n') : []),
    pid: () => {
      const pid = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8')) : undefined;
      return pid && fs.existsSync(`/proc/${pid}`) ? pid : undefined;
    },
    systemctl: run,
    remove(env) {
      run('stop', env);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
