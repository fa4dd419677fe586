// Which local backups may go (docs/safety.md#nothing-irreplaceable-is-deleted). Used by the scheduled backup (keep N,
// default 7) and by the disk emergency (keep 3). Deciding is pure; deleting is a separate step,
// so `--dry-run` shows exactly what a real run would remove.
import fs from 'node:fs';
import path from 'node:path';
import { checkIntegrity } from './integrity';
import { fsyncPath } from './sqlite';
import { listBackups, manifestPath, type BackupEntry } from './snapshot';

export interface RetentionPlan {
  keep: BackupEntry[];
  remove: BackupEntry[];
  /** Why each kept backup stays, by name. */
  reasons: Record<string, string>;
}

/**
 * Keeps the `keep` newest verified backups, and every backup newer than the newest verified one
 * (an unverified newer file may be one somebody is still inspecting; it is not ours to judge).
 * Older unverified files never counted as backups and go. The only verified backup never goes.
 * `backups` must be newest first, as listBackups returns them.
 */
export function planRetention(backups: readonly BackupEntry[], keep: number): RetentionPlan {
  if (!Number.isInteger(keep) || keep < 1) throw new Error(`keep: ${keep} must be a whole number of at least 1`);
  const plan: RetentionPlan = { keep: [], remove: [], reasons: {} };
  const newestVerified = backups.findIndex((b) => b.verified);
  if (newestVerified < 0) {
    // Nothing verified: nothing to measure against, so nothing is deleted.
    for (const b of backups) plan.reasons[b.name] = 'no verified backup exists';
    plan.keep.push(...backups);
    return plan;
  }
  let verifiedKept = 0;
  backups.forEach((b, i) => {
    if (i < newestVerified) {
      plan.keep.push(b);
      plan.reasons[b.name] = 'newer than the newest verified backup';
    } else if (b.verified && verifiedKept < keep) {
      verifiedKept++;
      plan.keep.push(b);
      plan.reasons[b.name] = `verified, ${verifiedKept} of ${keep} kept`;
    } else {
      plan.remove.push(b);
    }
  });
  return plan;
}

export interface PruneResult {
  kept: string[];
  removed: string[];
  /**
   * Backups without a manifest that retention would have removed but that fail integrity_check: kept,
   * and reported, for a person (docs/safety.md#nothing-irreplaceable-is-deleted).
   */
  keptUnverifiable: { name: string; problem: string }[];
  /** Copies a killed or failed backup left behind (never counted as backups), removed when stale. */
  stalePartials: string[];
  bytesFreed: number;
  dryRun: boolean;
}

/** A live copy grows continuously; one untouched for this long belongs to a backup that died. */
export const STALE_PARTIAL_MS = 10 * 60_000;

function stalePartials(backupsDir: string, now: number): string[] {
  if (!fs.existsSync(backupsDir)) return [];
  return fs.readdirSync(backupsDir).filter((f) => {
    if (!/^\.atlas_.*\.partial(-journal)?$/.test(f) && !/\.manifest\.json\.tmp$/.test(f)) return false;
    try {
      return now - fs.statSync(path.join(backupsDir, f)).mtimeMs > STALE_PARTIAL_MS;
    } catch {
      return false;
    }
  });
}

/** Why a file fails integrity_check (not SQLite, unreadable, damaged), or undefined when it passes. */
async function integrityProblem(file: string, onTick?: () => void): Promise<string | undefined> {
  try {
    const r = await checkIntegrity(file, { readonly: true, onTick, field: 'backup' });
    return r.problems.length ? r.problems.slice(0, 3).join('; ') : undefined;
  } catch (err) {
    return (err as Error).message.slice(0, 300);
  }
}

/**
 * Plans and (unless dryRun) deletes; a backup's manifest goes with it. A backup without a manifest is
 * integrity-checked first, in a dry run too: one that passes may go by the plan, one that fails is kept
 * and reported (it may be the only copy of something; nothing here can tell). Idempotent.
 */
export async function pruneBackups(backupsDir: string, keep: number, options: { dryRun?: boolean; now?: number; onTick?: () => void } = {}): Promise<PruneResult> {
  const plan = planRetention(listBackups(backupsDir), keep);
  let bytesFreed = 0;
  const stale = stalePartials(backupsDir, options.now ?? Date.now());
  for (const f of stale) {
    const file = path.join(backupsDir, f);
    bytesFreed += fs.statSync(file).size;
    if (!options.dryRun) fs.rmSync(file, { force: true });
  }
  const keptUnverifiable: PruneResult['keptUnverifiable'] = [];
  const removed: BackupEntry[] = [];
  for (const b of plan.remove) {
    const problem = b.manifest ? undefined : await integrityProblem(b.path, options.onTick);
    if (problem) {
      keptUnverifiable.push({ name: b.name, problem });
      continue;
    }
    removed.push(b);
    const manifest = manifestPath(b.path);
    bytesFreed += b.size + (fs.existsSync(manifest) ? fs.statSync(manifest).size : 0);
    if (!options.dryRun) {
      fs.rmSync(b.path, { force: true });
      fs.rmSync(manifest, { force: true });
    }
  }
  if (!options.dryRun && (removed.length || stale.length)) fsyncPath(backupsDir);
  const unverifiable = new Set(keptUnverifiable.map((u) => u.name));
  return {
    kept: [...plan.keep, ...plan.remove.filter((b) => unverifiable.has(b.name))].map((b) => b.name),
    removed: removed.map((b) => b.name),
    keptUnverifiable,
    stalePartials: stale,
    bytesFreed,
    dryRun: options.dryRun === true,
  };
}
