// What a running `atlas-ops dev` started, recorded in its home as run/dev.json (mode 0640): the
// Temporal address, the Web UI, the Sheets emulator and the OCI endpoint. CLI commands in that home
// read it beneath the configuration file and the environment, so with no option of their own they
// talk to the stack dev started (`doctor sheets` probes its emulator, links use its UI port). The
// file names the dev process (pid and start time, src/owned-process.ts), so a file left by a dev that is no
// longer running is recognised, said so, and ignored.
import fs from 'node:fs';
import path from 'node:path';
import { MODE } from './file-modes';
import { atlasPaths } from './paths';
import { ownershipOfRecord, processRecord, type ProcessRecord } from './owned-process';

/** Configuration keys dev sets, by dotted key (src/config.ts CONFIG_FIELDS). */
export type DevSettings = Partial<Record<'temporal.address' | 'temporal.uiUrl' | 'sheets.rootUrl' | 'sheets.spreadsheetId' | 'oci.endpoint', string>>;

interface DevFile {
  /** The dev process: pid and start time (a reused pid has another), src/owned-process.ts. */
  process: ProcessRecord;
  startedAt: string;
  settings: DevSettings;
}

export const devSettingsFile = (home: string) => path.join(atlasPaths(home).runDir, 'dev.json');

/** Records this process as the home's dev stack. */
export function writeDevSettings(home: string, settings: DevSettings, now = new Date()): string {
  const file = devSettingsFile(home);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: MODE.dir });
  const body: DevFile = { process: processRecord(process.pid, file), startedAt: now.toISOString(), settings };
  fs.writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`, { mode: MODE.file });
  // writeFileSync's mode applies only to a new file, and through the umask.
  fs.chmodSync(file, MODE.file);
  return file;
}

/** Removes the record when this process wrote it (a second dev in the same home keeps its own). */
export function removeDevSettings(home: string): void {
  const file = devSettingsFile(home);
  try {
    if ((JSON.parse(fs.readFileSync(file, 'utf8')) as DevFile).process?.pid === process.pid) fs.rmSync(file, { force: true });
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
    if (typeof body.settings !== 'object' || body.settings === null) throw new Error('no settings');
  } catch (err) {
    return { state: 'stale', file, pid: 0, why: `unreadable (${(err as Error).message})` };
  }
  const owner = ownershipOfRecord(body.process, file);
  const pid = body.process?.pid ?? 0;
  if (owner.state === 'unproven' && owner.pid === undefined) return { state: 'stale', file, pid, why: owner.reason };
  if (owner.state !== 'ours') return { state: 'stale', file, pid, why: `the dev stack that wrote it (pid ${pid}, started ${body.startedAt}) is not running` };
  return { state: 'running', file, pid, settings: body.settings };
}
