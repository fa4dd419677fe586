// The worker as deployed, reproduced: the filesystem restrictions of
// deploy/systemd/atlas-ops-worker.service, read from the unit itself, applied with bubblewrap to a
// process running as an unprivileged user (docs/safety.md#the-worker-as-deployed). Only what a test
// cannot have is mapped: the unit's home (/opt/atlas) is the test's home, its /opt/atlas-ops is this
// repository. The network is not unshared (the unit does not either): the worker reaches the
// suite's dev server over loopback.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { which } from '../../src/command-runner';
import { CONFIG_FIELDS } from '../../src/config';
import { POLKIT_RULE } from '../../src/deployed-privileges';
import { REPO } from './env';
import { readUnit, type UnitFile } from './systemd-unit';

/** systemd's PATH for system services. */
const SERVICE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface Account {
  name: string;
  uid: number;
  gid: number;
}

/** Why the sandbox cannot run here (not root, no bwrap, no user namespaces), or undefined when it can. */
export function sandboxUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'the test drops privileges from root (setpriv), and runs as another user';
  for (const tool of ['bwrap', 'setpriv']) if (!which(tool)) return `${tool} is not installed (Debian: ${tool === 'bwrap' ? 'bubblewrap' : 'util-linux'})`;
  try {
    execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'bwrap', '--unshare-user', '--ro-bind', '/', '/', 'true'], { stdio: 'pipe' });
  } catch (err) {
    return `bwrap cannot create a user namespace as an unprivileged user: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`;
  }
  return undefined;
}

/** The unit's User= when this machine has it, else `nobody`: an unprivileged account either way. */
export function accountFor(unitUser: string): Account {
  for (const name of [unitUser, 'nobody']) {
    const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
    if (!line) continue;
    const [, , uid, gid] = line.split(':');
    if (Number(uid) === 0) throw new Error(`user ${name} is root: not a stand-in for an unprivileged ${unitUser}`);
    return { name, uid: Number(uid), gid: Number(gid) };
  }
  throw new Error(`neither ${unitUser} nor nobody exists in /etc/passwd`);
}

export interface Sandbox {
  unit: UnitFile;
  account: Account;
  /**
   * The unit's Environment=, with its paths mapped to the test's; and the configuration's defaults
   * that lie in a StateDirectory= pointed at its counterpart (bwrap cannot create /var/lib/<name>
   * under the read-only root, so the test's directory stands in for it by path).
   */
  environment: Record<string, string>;
  /** Test counterparts of the unit's StateDirectory= folders (beside the home); the test removes them. */
  stateDirs: string[];
  /** The bwrap arguments that reproduce the unit's filesystem restrictions (for reading in a failure). */
  bwrapArgs: string[];
  /**
   * Starts the unit's ExecStart in the sandbox (or `argv`, another program under the same unit);
   * `env` plays worker.env (EnvironmentFile=). `binds`: the test's own stand-ins' state, bound
   * writable (in production that state is the host's, outside the worker).
   */
  start(env: NodeJS.ProcessEnv, options: { log: string; path?: string[]; argv?: string[]; binds?: string[] }): ChildProcess;
}

/**
 * The unit's sandbox for a test home. Directives it does not know how to reproduce fail here, naming
 * them, so that the unit cannot gain a restriction the test silently leaves out.
 */
export function unitSandbox(unitName: string, home: string): Sandbox {
  const unit = readUnit(unitName);
  const unitEnv = unit.environment();
  const unitHome = unitEnv.ATLAS_HOME;
  if (!unitHome) throw new Error(`${unitName}: no Environment=ATLAS_HOME=`);
  const workdir = unit.one('WorkingDirectory');
  // StateDirectory=<name>: systemd creates /var/lib/<name> for the unit's user, writable under ProtectSystem=strict.
  const stateDirs = unit.values('StateDirectory').flatMap((v) => v.split(/\s+/)).filter(Boolean).map((name) => ({ unit: `/var/lib/${name}`, test: `${home}.state-${name.replace(/\//g, '_')}` }));
  const mapped: [string, string][] = [[unitHome, home], [workdir, REPO], ...stateDirs.map((d) => [d.unit, d.test] as [string, string])];
  const map = (p: string) => {
    for (const [from, to] of mapped) if (p === from || p.startsWith(`${from}/`)) return to + p.slice(from.length);
    return p;
  };

  const args = ['--unshare-user', '--die-with-parent'];
  const protectSystem = unit.one('ProtectSystem');
  if (protectSystem !== 'strict') throw new Error(`${unitName}: ProtectSystem=${protectSystem}: only strict is reproduced`);
  // strict: everything read-only but the API filesystems.
  args.push('--ro-bind', '/', '/', '--dev-bind', '/dev', '/dev', '--proc', '/proc');
  const protectHome = unit.one('ProtectHome');
  if (protectHome === 'true' || protectHome === 'yes' || protectHome === 'tmpfs') {
    for (const dir of ['/home', '/root', '/run/user']) if (fs.existsSync(dir)) args.push('--tmpfs', dir);
  } else if (protectHome !== 'read-only') {
    throw new Error(`${unitName}: ProtectHome=${protectHome} is not reproduced`);
  }
  if (unit.one('PrivateTmp') === 'true') args.push('--tmpfs', '/tmp', '--tmpfs', '/var/tmp');
  // The code, as installed in WorkingDirectory (/opt/atlas-ops, under the read-only system): this
  // checkout, read-only, wherever it lives (a clone under /tmp or /home is hidden by the lines above).
  args.push('--ro-bind', REPO, REPO);
  // bwrap always sets no_new_privs: the unit must ask for it too, or the test would be stricter than production.
  if (unit.one('NoNewPrivileges') !== 'true') throw new Error(`${unitName}: NoNewPrivileges is not true, but bwrap always sets it`);
  for (const rw of unit.values('ReadWritePaths').flatMap((v) => v.split(/\s+/)).filter(Boolean)) {
    const mapped = map(rw.replace(/^-/, ''));
    if (mapped === rw) throw new Error(`${unitName}: ReadWritePaths=${rw} has no test counterpart`);
    args.push('--bind', mapped, mapped);
  }
  const account = accountFor(unit.one('User'));
  const stateMode = unit.values('StateDirectoryMode')[0] ?? '0755';
  for (const d of stateDirs) {
    fs.mkdirSync(d.test, { recursive: true, mode: parseInt(stateMode, 8) });
    fs.chownSync(d.test, account.uid, account.gid);
    args.push('--bind', d.test, d.test);
  }
  args.push('--chdir', map(workdir));

  const umask = unit.one('UMask');
  const exec = unit.one('ExecStart').split(/\s+/).map(map);
  if (!fs.existsSync(exec[0]!)) exec[0] = process.execPath;
  const environment = Object.fromEntries(Object.entries(unitEnv).map(([k, v]) => [k, map(v)]));
  for (const field of CONFIG_FIELDS) {
    if (field.type !== 'path' || typeof field.default !== 'string' || !field.env || environment[field.env] !== undefined) continue;
    if (stateDirs.some((d) => field.default === d.unit || (field.default as string).startsWith(`${d.unit}/`))) environment[field.env] = map(field.default);
  }

  return {
    unit,
    account,
    environment,
    stateDirs: stateDirs.map((d) => d.test),
    bwrapArgs: args,
    start(env, options) {
      const out = fs.openSync(options.log, 'a');
      const binds = (options.binds ?? []).flatMap((d) => ['--bind', d, d]);
      const child = spawn(
        'setpriv',
        [`--reuid=${account.uid}`, `--regid=${account.gid}`, '--clear-groups', 'bwrap', ...args, ...binds, '--', '/bin/sh', '-c', `umask ${umask} && exec "$@"`, 'sh', ...(options.argv ?? exec)],
        {
          // As systemd starts a service: its PATH, the user's HOME (the documented useradd gives
          // atlas the home as its home directory), the unit's Environment=, then the environment file.
          env: { PATH: [...(options.path ?? []), SERVICE_PATH].join(':'), HOME: environment.ATLAS_HOME!, USER: account.name, LOGNAME: account.name, LANG: 'C.UTF-8', ...environment, ...env },
          stdio: ['ignore', out, out],
        },
      );
      fs.closeSync(out);
      return child;
    },
  };
}

/** Gives the home to the sandbox's user, as the install does (`chown -R atlas:atlas /opt/atlas`). */
export function chownTree(dir: string, account: Account): void {
  fs.chownSync(dir, account.uid, account.gid);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(p, account);
    else fs.lchownSync(p, account.uid, account.gid);
  }
}

/** The units and verbs the polkit rule grants, as it spells them (`var units = {…};`). */
export function polkitGrants(): Record<string, string[]> {
  const rule = fs.readFileSync(path.join(REPO, POLKIT_RULE), 'utf8');
  const units = /var units = (\{[^}]*\});/.exec(rule);
  if (!units) throw new Error(`${POLKIT_RULE}: no \`var units = {…};\``);
  return JSON.parse(units[1]!) as Record<string, string[]>;
}
