// Helpers for benchmarks: databases of a given size, timing, arguments.
import fs from 'node:fs';
import { padAtlasDb } from '../../src/db/demo-seed';

/** A real Atlas database of about `megabytes` (see padAtlasDb). */
export function makeAtlasDb(file: string, megabytes: number): number {
  fs.rmSync(file, { force: true });
  return padAtlasDb(file, megabytes);
}

export function timeIt<T>(fn: () => T): { ms: number; value: T } {
  const t0 = performance.now();
  const value = fn();
  return { ms: performance.now() - t0, value };
}

export async function timeAsync<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

export const mb = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MB`;
export const arg = (name: string, fallback: number): number => {
  const found = process.argv.find((a) => a.startsWith(`--${name}=`));
  return found ? Number(found.split('=')[1]) : fallback;
};
