// The one place atlas-ops runs host commands (systemctl, logrotate, journalctl, sqlite_web).
// Commands are looked up on PATH at call time, so tests put recording stand-ins first on PATH.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface CommandResult {
  command: string;
  args: string[];
  code: number | null;
  stdout: string;
  stderr: string;
}

export function which(command: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, command);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

export class CommandNotFoundError extends Error {
  override name = 'CommandNotFoundError';
}

export function runCommand(command: string, args: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CommandResult> {
  const env = options.env ?? process.env;
  const file = which(command, env);
  if (!file) return Promise.reject(new CommandNotFoundError(`${command}: not found on PATH`));
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: options.timeoutMs ?? 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ command, args, code, stdout, stderr }));
  });
}
