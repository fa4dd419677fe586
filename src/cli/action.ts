// What every command's action receives, made in one place: its parsed options and arguments, the
// configuration from the global flags and a Temporal client. The configuration is loaded and the
// client connected on first use, so that a command checks its own options first (bad input is
// reported as such) and a command that needs no server never connects to one.
import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import type { AtlasConfig } from '../config';
import { clientFor, configFor, output } from './common';

export interface Action<O, A extends unknown[]> {
  cmd: Command;
  /** The command's own options, as commander parsed them. */
  opts: O;
  /** Its positional arguments, in order (commander leaves an omitted optional one out). */
  args: A;
  /** The configuration from --home and --config; loaded once, on first read. */
  readonly config: AtlasConfig;
  /** A client for that configuration; connected once, on the first call, and closed by `run`. */
  client(): Promise<Client>;
  /** Prints `data` as JSON with --json, else the text lines. */
  output(data: unknown, text: () => string | string[]): void;
}

/** What an action does with its Action: the exit code (README.md, Exit codes). */
export type ActionBody<O, A extends unknown[]> = (a: Action<O, A>) => Promise<number>;

/**
 * The wrapper every action goes through (main.ts): it builds the Action, runs the body, closes the
 * client and exits with the body's code, or the error's. `O` types the options, `A` the arguments.
 */
export type Run = <O = object, A extends unknown[] = string[]>(body: ActionBody<O, A>) => (...args: unknown[]) => Promise<void>;

export function actionFor<O, A extends unknown[]>(cmd: Command): Action<O, A> {
  let config: AtlasConfig | undefined;
  let client: Promise<Client> | undefined;
  const action: Action<O, A> = {
    cmd,
    opts: cmd.opts() as O,
    args: cmd.args as A,
    get config() {
      return (config ??= configFor(cmd));
    },
    client: () => (client ??= clientFor(action.config)),
    output: (data, text) => output(cmd, data, text),
  };
  return action;
}
