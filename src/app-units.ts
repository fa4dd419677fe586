// The Atlas app's systemd units (`app.units`): stopped before a procedure replaces atlas.db and
// started again afterwards (docs/safety.md#no-swap-under-a-live-writer). Only the units that were
// active are stopped, and only those are started again, as a procedure unpauses only what it paused.
// Which ones were stopped is written to a file per procedure, so a retried activity (the worker died
// after `systemctl stop`) still knows them.
import fs from 'node:fs';
import path from 'node:path';
import { CommandNotFoundError, commandFailure, runCommand } from './command-runner';
import { grant } from './deployed-privileges';

export interface StoppedUnits {
  stopped: string[];
  /** Why nothing was stopped, when nothing was (no systemd here, none configured). */
  note?: string;
}

const stateFile = (runDir: string, workflowId: string) => path.join(runDir, `app-units-stopped.${workflowId.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);

function recorded(file: string): string[] {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as string[];
  } catch {
    return [];
  }
}

const systemctl = (args: string[]) => runCommand('systemctl', args, { timeoutMs: 120_000 });

export async function stopAppUnits(units: readonly string[], runDir: string, workflowId: string): Promise<StoppedUnits> {
  if (!units.length) return { stopped: [], note: 'app.units is empty: no app unit to stop' };
  const file = stateFile(runDir, workflowId);
  const stopped = recorded(file);
  for (const unit of units) {
    if (stopped.includes(unit)) continue;
    let active;
    try {
      active = await systemctl(['is-active', unit]);
    } catch (err) {
      if (err instanceof CommandNotFoundError) return { stopped, note: 'systemctl is not on PATH: no app unit to stop' };
      throw err;
    }
    // Anything but "active" (inactive, failed, unknown, or no systemd to ask): nothing to stop, nothing to start later.
    if (active.stdout.trim() !== 'active') continue;
    fs.mkdirSync(runDir, { recursive: true });
    fs.writeFileSync(file, JSON.stringify([...stopped, unit]));
    const r = await systemctl(['stop', unit]);
    if (r.code !== 0) throw commandFailure(r, grant.systemctl(unit));
    stopped.push(unit);
  }
  return { stopped };
}

/** Starts what stopAppUnits stopped for this procedure; idempotent (`systemctl start` of a running unit does nothing). */
export async function startAppUnits(runDir: string, workflowId: string): Promise<string[]> {
  const file = stateFile(runDir, workflowId);
  const units = recorded(file);
  for (const unit of units) {
    const r = await systemctl(['start', unit]);
    if (r.code !== 0) throw commandFailure(r, grant.systemctl(unit));
  }
  fs.rmSync(file, { force: true });
  return units;
}
