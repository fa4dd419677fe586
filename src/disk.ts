// Disk figures for the disk emergency and the health check: usage of the filesystem that holds a
// path (statfs, as df computes it), and where the bytes are under the Atlas home.
import fs from 'node:fs';
import path from 'node:path';

export interface DiskUsage {
  path: string;
  totalBytes: number;
  usedBytes: number;
  availableBytes: number;
  /** As df shows it: used / (used + available to unprivileged users). */
  usedPercent: number;
}

export function diskUsage(target: string): DiskUsage {
  const s = fs.statfsSync(target);
  const used = (s.blocks - s.bfree) * s.bsize;
  const available = s.bavail * s.bsize;
  const usedPercent = used + available > 0 ? Math.round((used / (used + available)) * 10000) / 100 : 0;
  return { path: target, totalBytes: s.blocks * s.bsize, usedBytes: used, availableBytes: available, usedPercent };
}

/** Bytes under `p` (files only, symlinks not followed); unreadable entries count as 0. */
export function sizeOf(p: string): number {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.isFile() ? st.size : 0;
  let total = 0;
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(p);
  } catch {
    return 0;
  }
  for (const e of entries) total += sizeOf(path.join(p, e));
  return total;
}

/** `du -sh <dir>/* | sort -hr`: the entries of a folder, largest first. */
export function largestEntries(dir: string, limit = 10): { path: string; bytes: number }[] {
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return entries
    .map((e) => ({ path: path.join(dir, e), bytes: sizeOf(path.join(dir, e)) }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, limit);
}
