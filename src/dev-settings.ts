// What a running `atlas-ops dev` started, recorded in its home as run/dev.json (mode 0640): the
// Temporal address, the Web UI, the Sheets emulator and the OCI endpoint. CLI commands in that home
// read it beneath the configuration file and the environment, so with no option of their own they
// talk to the stack dev started (`doctor sheets` probes its emulator, links use its UI port). The
// file names the dev process (pid and start time from /proc), so a file left by a dev that is no
// longer running is recognised, said so, and ignored.
import fs from 'node:fs';
import path from 'node:path';
import { atlasPaths } from './paths';

/** Configuration keys dev sets, by dotted key (src/config.ts CONFIG_FIELDS). */
export type DevSettings = Partial<Record<'temporal.address' | 'temporal.uiUrl' | 'sheets.rootUrl' | 'sheets.spreadsheetId' | 'oci.endpoint', string>>;

interface DevFile {
  pid: number;
  /** The process's start time (clock ticks since boot, /proc/<pid>/stat): a reused pid has another. */
  pidStart?: string;
  startedAt: string;
  settings: DevSettings;
}

export const devSettingsFile = (home: string) => path.join(atlasPaths(home).runDir, 'dev.json');

function processStart(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22; the command name (field 2) may hold spaces, so count from its closing parenthesis.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function running(pid: number, pidStart: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists, under another user.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return pidStart === undefined || processStart(pid) === pidStart;
}

/** Records this process as the home's dev stack. */
export function writeDevSettings(home: string, settings: DevSettings, now = new Date()): string {
  const file = devSettingsFile(home);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o750 });
  const body: DevFile = { pid: process.pid, pidStart: processStart(process.pid), startedAt: now.toISOString(), settings };
  fs.writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o640 });
  // writeFileSync's mode applies only to a new file, and through the umask.
  fs.chmodSync(file, 0o640);
  return file;
}

/** Removes the record when this process wrote it (a second dev in the same home keeps its own). */
export function removeDevSettings(home: string): void {
  const file = devSettingsFile(home);
  try {
    if ((JSON.parse(fs.readFileSync(file, 'utf8')) as DevFile).pid === process.pid) fs.rmSync(file, { force: true });
  } catch {
    /* gone or unreadable: nothing of ours to remove */
  }
}

export type DevStackState =
  | { state: 'none' }
  | { state: 'running'; file: string; pid: number; settings: DevSettings }
  | { state: 'stale'; file: string; pid: number; why: string };

/** The dev stack recorded in `home`, and whether it still runs. */
export function readDevSettings(home: string): DevStackState {
  const file = devSettingsFile(home);
  if (!fs.existsSync(file)) return { state: 'none' };
  let body: DevFile;
  try {
    body = JSON.parse(fs.readFileSync(file, 'utf8')) as DevFile;
    if (!Number.isInteger(body.pid) || body.pid <= 0 || typeof body.settings !== 'object' || body.settings === null) throw new Error('not a dev record');
  } catch (err) {
    return { state: 'stale', file, pid: 0, why: `unreadable (${(err as Error).message})` };
  }
  if (!running(body.pid, body.pidStart)) return { state: 'stale', file, pid: body.pid, why: `the dev stack that wrote it (pid ${body.pid}, started ${body.startedAt}) is not running` };
  return { state: 'running', file, pid: body.pid, settings: body.settings };
}
