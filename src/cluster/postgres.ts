// The cluster's private PostgreSQL: its own data directory under the cluster directory, its own port
// on 127.0.0.1 (no Unix socket), run as an unprivileged user, never the system's cluster
// (docs/architecture.md#deployment-shapes). Run as root, it runs as `nobody`, which owns only the
// data directory.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CLUSTER } from './settings';

export class ClusterError extends Error {
  override name = 'ClusterError';
}

/** Where Debian puts a PostgreSQL major version's server binaries; ATLAS_POSTGRES_BIN overrides. */
export function postgresBinDir(): string {
  const dir = process.env.ATLAS_POSTGRES_BIN || `/usr/lib/postgresql/${CLUSTER.postgresVersion}/bin`;
  if (!fs.existsSync(path.join(dir, 'postgres'))) {
    throw new ClusterError(
      `PostgreSQL ${CLUSTER.postgresVersion} server binaries are not in ${dir}: install Debian's postgresql-${CLUSTER.postgresVersion} ` +
        '(apt-get install postgresql), or set ATLAS_POSTGRES_BIN to the directory holding initdb and postgres',
    );
  }
  return dir;
}

export interface RunAs {
  user: string;
  uid: number;
  gid: number;
}

/** Root runs PostgreSQL as `nobody` (it refuses to run as root); anyone else as themself. */
export function postgresUser(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync('id', [flag, 'nobody'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  const gid = id('-g');
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid <= 0) throw new ClusterError('running as root, PostgreSQL needs an unprivileged user: user `nobody` was not found');
  return { user: 'nobody', uid, gid };
}

/**
 * The unprivileged user must pass through every directory above the data directory: one it cannot
 * enter (a 0700 temp or home directory) is named before anything starts.
 */
export function checkReachable(dir: string, as: RunAs | undefined = postgresUser()): void {
  if (!as) return;
  for (let d = path.dirname(path.resolve(dir)); ; d = path.dirname(d)) {
    const st = fs.statSync(d);
    const passes = st.uid === as.uid ? st.mode & 0o100 : st.gid === as.gid ? st.mode & 0o010 : st.mode & 0o001;
    if (!passes) {
      throw new ClusterError(
        `PostgreSQL runs as ${as.user}, which cannot enter ${d} (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}) to reach ${dir}: ` +
          `choose a --dir it can reach (the default is under /var/lib) or \`chmod o+x ${d}\`; nothing was started`,
      );
    }
    if (d === path.dirname(d)) return;
  }
}

function chownAll(target: string, as: RunAs | undefined): void {
  if (as) fs.chownSync(target, as.uid, as.gid);
}

/** Creates the data directory with `initdb` once: superuser `temporal` with the cluster's password, password login on TCP only. */
export function initPostgres(dataDir: string, password: string, log: (line: string) => void): void {
  if (fs.existsSync(path.join(dataDir, 'PG_VERSION'))) return;
  const bin = postgresBinDir();
  const as = postgresUser();
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chownAll(dataDir, as);
  // initdb reads the password from a file the PostgreSQL user can read, removed at once.
  const pwfile = path.join(path.dirname(dataDir), `.pwfile-${process.pid}`);
  fs.writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  chownAll(pwfile, as);
  try {
    log(`initdb ${dataDir}${as ? ` (as ${as.user})` : ''}`);
    const res = spawnSync(
      path.join(bin, 'initdb'),
      ['-D', dataDir, '-U', CLUSTER.database.user, `--pwfile=${pwfile}`, '--auth-host=scram-sha-256', '--auth-local=reject', '-E', 'UTF8', '--locale=C.UTF-8'],
      { encoding: 'utf8', uid: as?.uid, gid: as?.gid, cwd: path.dirname(dataDir) },
    );
    if (res.status !== 0) throw new ClusterError(`initdb ${dataDir} failed (exit ${res.status}): ${(res.stderr || res.stdout || String(res.error)).trim().split('\n').slice(-3).join(' ')}`);
  } finally {
    fs.rmSync(pwfile, { force: true });
  }
}

/** Starts `postgres` detached on 127.0.0.1:`port`; returns its pid once it accepts connections. */
export async function startPostgres(dataDir: string, port: number, logFile: string): Promise<number> {
  const bin = postgresBinDir();
  const as = postgresUser();
  const out = fs.openSync(logFile, 'a');
  if (as) fs.fchownSync(out, as.uid, as.gid);
  const child = spawn(
    path.join(bin, 'postgres'),
    ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
    { uid: as?.uid, gid: as?.gid, detached: true, stdio: ['ignore', out, out], cwd: path.dirname(dataDir) },
  );
  fs.closeSync(out);
  child.unref();
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new ClusterError(`PostgreSQL exited at start (exit ${exited}): ${tail(logFile)}`);
    const ready = spawnSync(path.join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-t', '2'], { encoding: 'utf8' });
    if (ready.status === 0) return child.pid!;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new ClusterError(`PostgreSQL on 127.0.0.1:${port} did not accept connections within 60 s: ${tail(logFile)}`);
}

/** The last lines of a log, for an error message. */
export function tail(file: string, lines = 4): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join(' | ');
  } catch {
    return `(no log at ${file})`;
  }
}
