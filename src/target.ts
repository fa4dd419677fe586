// The home and host a procedure acts on (docs/safety.md#the-home-and-host-asked). The operator names
// them (the CLI fills `home` from --home or the configuration; `hostQueue` picks a host), the worker
// serving that host queue compares them with what it serves, and one message says both when they
// differ. The worker also puts its home in its Temporal identity, so the CLI can refuse before
// starting anything when the worker polling the host queue serves another home.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { activityPollers } from './temporal/task-queue';

export interface Target {
  home?: string;
  hostQueue?: string;
}

/** A home compared as the file system sees it: a symlinked or relative spelling is the same home. */
function canonicalHome(home: string): string {
  const resolved = path.resolve(home);
  try {
    return fs.realpathSync.native(resolved);
  } catch {
    return resolved;
  }
}

export function sameHome(a: string, b: string): boolean {
  return canonicalHome(a) === canonicalHome(b);
}

export function wrongHomeMessage(serves: string, asked: string): string {
  return `this worker serves ${serves}, the procedure asked for ${asked}: start a worker for ${asked} or drop --home`;
}

/** Why a worker serving `serves` must refuse a procedure that asked for `asked`; undefined when it may run it. */
export function targetMismatch(serves: Required<Target>, asked: Target): string | undefined {
  if (asked.home !== undefined && !sameHome(serves.home, asked.home)) return wrongHomeMessage(serves.home, asked.home);
  if (asked.hostQueue !== undefined && asked.hostQueue !== serves.hostQueue) {
    return `this worker serves host queue ${serves.hostQueue}, the procedure asked for ${asked.hostQueue}: start a worker for that host or drop hostQueue`;
  }
  return undefined;
}

const HOME_MARK = ' atlas-home=';

/** The host worker's Temporal identity: the default `pid@machine`, then the home it serves. */
export function workerIdentity(home: string): string {
  return `${process.pid}@${os.hostname()}${HOME_MARK}${canonicalHome(home)}`;
}

function homeOfIdentity(identity: string | null | undefined): string | undefined {
  const at = identity?.indexOf(HOME_MARK) ?? -1;
  return at < 0 ? undefined : identity!.slice(at + HOME_MARK.length);
}

/**
 * The homes of the workers that polled `hostQueue` recently (Temporal keeps pollers for a few
 * minutes, so a worker that just stopped may be among them). Empty when none said its home.
 */
export async function homesServing(client: Client, hostQueue: string): Promise<string[]> {
  const homes = (await activityPollers(client, hostQueue)).map(homeOfIdentity).filter((h): h is string => h !== undefined);
  return [...new Set(homes)];
}

/**
 * The CLI's check before a start: a message naming both homes when every worker polling the host
 * queue serves another home than `home`; undefined when one serves it or none is known (the
 * procedure's own check, on the worker, then decides).
 */
export async function homeRefusedBeforeStart(client: Client, hostQueue: string, home: string): Promise<string | undefined> {
  let homes: string[];
  try {
    homes = await homesServing(client, hostQueue);
  } catch {
    // Not allowed to describe queues (a restricted Cloud key), say: the worker's own check decides.
    return undefined;
  }
  if (!homes.length || homes.some((h) => sameHome(h, home))) return undefined;
  return `${wrongHomeMessage(homes.join(', '), canonicalHome(home))} (nothing was started)`;
}
