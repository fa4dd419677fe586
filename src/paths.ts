// The layout of an Atlas home (docs/architecture.md#the-atlas-home), in one place.
import path from 'node:path';
import { isPlainFileName } from './workflow-safe/file-names';

export interface AtlasPaths {
  home: string;
  dataDir: string;
  atlasDb: string;
  opsDb: string;
  maintenanceFlag: string;
  backupsDir: string;
  logsDir: string;
  configDir: string;
  reportsDir: string;
  runDir: string;
  /** logrotate's state file: the worker runs logrotate as its own user, never with the system's state. */
  logrotateState: string;
  log(name: 'export' | 'import' | 'health' | 'backup' | 'maintenance' | 'alerts' | 'procedures' | 'sqlite-web'): string;
}

export function atlasPaths(home: string): AtlasPaths {
  const dataDir = path.join(home, 'data');
  const logsDir = path.join(home, 'logs');
  return {
    home,
    dataDir,
    atlasDb: path.join(dataDir, 'atlas.db'),
    opsDb: path.join(dataDir, 'ops.db'),
    maintenanceFlag: path.join(dataDir, '.maintenance'),
    backupsDir: path.join(home, 'backups'),
    logsDir,
    configDir: path.join(home, 'config'),
    reportsDir: path.join(home, 'reports'),
    // pid files of helper processes (sqlite-web), so a restarted worker finds what it started
    runDir: path.join(home, 'run'),
    logrotateState: path.join(home, 'run', 'logrotate.state'),
    log: (name) => path.join(logsDir, `${name}.log`),
  };
}

/**
 * Resolves `name` inside `dir`, refusing anything but a plain file name (no `..`, `/`, absolute
 * paths: the rule workflows check too). Every path taken from input goes through here.
 */
export function insideDir(dir: string, name: string, field: string): string {
  if (!isPlainFileName(name)) throw new Error(`${field}: "${name}" must be a plain file name inside ${dir}`);
  return path.resolve(dir, name);
}
