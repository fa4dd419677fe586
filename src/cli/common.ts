// What every CLI command shares: configuration from the global flags, the Temporal client,
// output as text or --json, and exit codes (documented in README.md).
import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import { loadConfig, type AtlasConfig } from '../config';
import { readDevSettings } from '../dev-settings';
import { parseDuration } from '../workflow-safe/duration';
import { connectClient, workflowUrl } from '../temporal/connect';
import { stamp } from '../workflow-safe/stamp';
import { NAME_MAX, TEXT_MAX, lengthProblem, minimumProblem } from '../workflow-safe/limits';
import { terminalText } from './terminal-text';

export const EXIT = {
  ok: 0,
  /** The command failed, or the procedure it followed failed. */
  failed: 1,
  /** Bad input: unknown flag, bad value, missing argument. Nothing was changed. */
  usage: 2,
  /** The procedure ended without completing: aborted or rolled back. */
  notCompleted: 3,
  /** Temporal could not be reached. */
  unreachable: 4,
} as const;

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface GlobalOptions {
  home?: string;
  config?: string;
  json?: boolean;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

/**
 * The configuration of a command: defaults, the settings of the dev stack running in the home
 * (run/dev.json, src/dev-settings.ts), the configuration file, the environment, the global flags.
 * A run/dev.json whose dev stack is gone is said on stderr and ignored.
 */
export function configFor(cmd: Command, overrides: Record<string, string | number> = {}): AtlasConfig {
  const g = globals(cmd);
  const options = { configFile: g.config, overrides: { ...(g.home ? { home: g.home } : {}), ...overrides } };
  const config = loadConfig(options);
  const dev = readDevSettings(config.home);
  if (dev.state === 'stale') process.stderr.write(`atlas-ops: ignoring ${dev.file}: ${dev.why} (start atlas-ops dev again, or remove the file)\n`);
  if (dev.state !== 'running') return config;
  return loadConfig({ ...options, beneath: { values: dev.settings, source: dev.file } });
}

const clients: Client[] = [];

export async function clientFor(config: AtlasConfig): Promise<Client> {
  const client = await connectClient(config);
  clients.push(client);
  return client;
}

export async function closeClients(): Promise<void> {
  await Promise.all(clients.splice(0).map((c) => c.connection.close().catch(() => undefined)));
}

/**
 * Prints `data` as JSON with --json, else the text: a string is one line, an array one line per
 * element, each written with its control characters escaped (./terminal-text.ts).
 */
export function output(cmd: Command, data: unknown, text: () => string | string[]): void {
  if (globals(cmd).json) {
    process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
  } else {
    process.stdout.write(`${terminalText(text(), colour.enabled())}\n`);
  }
}

/** A value as indented JSON, one line per element (JSON already escapes a newline inside a string). */
export const jsonLines = (value: unknown): string[] => JSON.stringify(value, null, 2).split('\n');

export function link(config: AtlasConfig, workflowId: string): string {
  return workflowUrl(config, workflowId);
}

export const colour = {
  enabled: () => process.stdout.isTTY === true && !process.env.NO_COLOR,
  wrap(code: number, s: string) {
    return this.enabled() ? `\x1b[${code}m${s}\x1b[0m` : s;
  },
  bold(s: string) {
    return this.wrap(1, s);
  },
  red(s: string) {
    return this.wrap(31, s);
  },
  green(s: string) {
    return this.wrap(32, s);
  },
  yellow(s: string) {
    return this.wrap(33, s);
  },
};

/**
 * Help of --wait on the commands that always wait for their workflow's result: every command that
 * starts a procedure takes --wait (README.md, CLI), so a script may pass it to any of them.
 */
export const ALWAYS_WAITS = 'changes nothing: this command always waits for the result (accepted like every start\'s --wait)';

/** Workflow ids an operator can read: `<procedure>-<UTC stamp>-<4 random chars>`. */
export function newWorkflowId(procedure: string): string {
  return `${procedure}-${stamp(Date.now())}-${Math.random().toString(36).slice(2, 6)}`;
}

/**
 * A duration as the operator typed it ("30m"), checked here so that a wrong one is bad input (exit 2),
 * and at least `min` milliseconds (src/workflow-safe/limits.ts DURATION_MIN) when given.
 */
export function checkDuration(value: string, field: string, min?: number): string {
  let ms: number;
  try {
    ms = parseDuration(value, field);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const short = min === undefined ? undefined : minimumProblem(ms, min);
  if (short) throw new UsageError(`${field}: "${value}" is too short: ${short}`);
  return value;
}

/** An option parser for a duration: the workflow receives the text, checked. */
export const durationOption = (field: string, min?: number) => (value: string): string => checkDuration(value, field, min);

/** Text at most `max` characters long (the same caps as the workflow input tables). */
export function checkLength(value: string, field: string, max: number): string {
  const tooLong = lengthProblem(value, max);
  if (tooLong) throw new UsageError(`${field} ${tooLong}`);
  return value;
}

/** An option parser for free text (--reason, --note, --summary): at most TEXT_MAX characters. */
export const textOption = (field: string) => (value: string): string => checkLength(value, field, TEXT_MAX);
/** An option parser for a name or an id (--by): at most NAME_MAX characters. */
export const nameOption = (field: string) => (value: string): string => checkLength(value, field, NAME_MAX);

export function parseIntOption(field: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`${field}: "${value}" is not a whole number`);
    return n;
  };
}

/** A TCP port, 1 to 65535; with `anyFree`, 0 too (the system picks a free one). */
export function parsePortOption(field: string, { anyFree = false } = {}) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < (anyFree ? 0 : 1) || n > 65535) throw new UsageError(`${field}: "${value}" is not a port (1 to 65535${anyFree ? ', or 0 for a free one' : ''})`);
    return n;
  };
}
