// The one place atlas-ops runs host commands (systemctl, logrotate, journalctl, sqlite_web).
// Commands are looked up on PATH at call time, so tests put recording stand-ins first on PATH.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { failure } from './workflow-safe/failures';

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

/** The user this process runs as, for messages: the name when /etc/passwd knows it, else the uid. */
export function runningUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

// What systemd and the kernel print when the caller lacks the right: polkit's refusal over D-Bus, a
// permission or a read-only mount (ProtectSystem=strict) on a file the command writes.
const POLKIT_REFUSED = /Access denied|Interactive authentication required|authentication is required/i;
const FILE_REFUSED = /Permission denied|Read-only file system|Operation not permitted/i;

/**
 * The privilege a failed command lacked, in words an operator can act on (docs/safety.md#the-worker-as-deployed),
 * or undefined when its output shows no refusal. `grant` names what grants it in deploy/.
 */
export function lackedPrivilege(r: CommandResult, grant: string): string | undefined {
  const output = `${r.stderr}\n${r.stdout}`;
  if (r.command === 'systemctl' && POLKIT_REFUSED.test(output)) return `${runningUser()} may not \`systemctl ${r.args.join(' ')}\` (polkit refused it): ${grant}`;
  if (FILE_REFUSED.test(output)) return `${runningUser()} may not write what \`${r.command}\` writes there (${FILE_REFUSED.exec(output)![0]}): ${grant}`;
  return undefined;
}

/**
 * The failure of a command that exited non-zero: `PrivilegeMissing` (not retried) naming the privilege
 * when its output shows a refusal, else `CommandFailed` (retried) with its output.
 */
export function commandFailure(r: CommandResult, grant: string) {
  const said = `\`${[r.command, ...r.args].join(' ')}\` exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 300)}`;
  const lacked = lackedPrivilege(r, grant);
  return lacked ? failure.PrivilegeMissing(`${said}. ${lacked}`) : failure.CommandFailed(said);
}
