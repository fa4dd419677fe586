// The runbook's "Disk Space Emergency": triage, then rotate logs → prune backups to the 3 newest
// verified → vacuum the journal, measuring the filesystem after each step and stopping once usage
// is under the threshold. Still above after all three: a critical alert with the figures and the
// long-term options. `dryRun` reports what each step would free and changes nothing.
import { ApplicationFailure } from '@temporalio/workflow';
import type { DiskMeasure, DiskTriage, StepReport } from '../activities/disk';
import { inputObject, invalid, optionalBoolean, optionalDuration, optionalString, rejectUnknown } from './lib/input';
import { AbortRequested, Procedure } from './lib/procedure';
import { failure } from '../src/workflow-safe/failures';

export interface DiskEmergencyInput {
  dryRun?: boolean;
  /** Stop once usage is below this percentage (default: thresholds.diskPercent, 80). */
  thresholdPercent?: number;
  trigger?: string;
  decisionTimeout?: string | number;
  hostQueue?: string;
}

export interface DiskStepResult {
  step: string;
  skipped: boolean;
  /** Measured: available bytes after the step minus before it (a dry run: what the step claims). */
  freedBytes: number;
  claimedBytes: number;
  usedPercentAfter: number;
  details: string[];
}

export interface DiskEmergencyResult {
  outcome: 'completed' | 'aborted';
  dryRun: boolean;
  workflowId: string;
  thresholdPercent: number;
  triage?: DiskTriage;
  before?: DiskMeasure;
  after?: DiskMeasure;
  steps: DiskStepResult[];
  /** Steps not needed because usage was already under the threshold. */
  notNeeded: string[];
  underThreshold: boolean;
  totalFreedBytes: number;
}

const FIELDS = ['dryRun', 'thresholdPercent', 'trigger', 'decisionTimeout', 'hostQueue'] as const;

const LONG_TERM = 'Long-term: extend the OCI block volume, tighten log rotation, archive backups to Object Storage.';

const gb = (n: number) => `${(n / 1e9).toFixed(2)} GB`;

export async function diskEmergency(rawInput?: DiskEmergencyInput): Promise<DiskEmergencyResult> {
  const input = inputObject(rawInput, 'diskEmergency');
  rejectUnknown(input, FIELDS);
  const dryRun = optionalBoolean(input, 'dryRun') ?? false;
  const thresholdIn = input.thresholdPercent;
  if (thresholdIn !== undefined && (typeof thresholdIn !== 'number' || !(thresholdIn > 0 && thresholdIn <= 100))) {
    throw invalid('thresholdPercent', `expected a percentage between 0 and 100, got ${JSON.stringify(thresholdIn)}`);
  }
  const trigger = optionalString(input, 'trigger');
  const decisionTimeout = optionalDuration(input, 'decisionTimeout');
  const hostQueue = optionalString(input, 'hostQueue');

  const p = await Procedure.start('diskEmergency', { decisionTimeout, hostQueue });
  const wf = p.workflowId;
  const result: DiskEmergencyResult = { outcome: 'completed', dryRun, workflowId: wf, thresholdPercent: 0, steps: [], notNeeded: [], underThreshold: false, totalFreedBytes: 0 };
  p.status.facts = result as unknown as Record<string, unknown>;

  try {
    p.phase('triage', 'Usage of the filesystem holding the Atlas home, the largest paths, log sizes.');
    const triage = (await p.step('triage', () => p.acts.diskTriage())).value!;
    result.triage = triage;
    result.before = triage;
    const threshold = (thresholdIn as number | undefined) ?? triage.thresholdPercent;
    result.thresholdPercent = threshold;
    await p.record(`disk emergency${dryRun ? ' (dry run)' : ''}${trigger ? ` (${trigger})` : ''}: ${triage.usedPercent}% used of ${gb(triage.totalBytes)}, target < ${threshold}%`);

    const steps: [string, () => Promise<StepReport>][] = [
      ['rotate logs', () => p.long.rotateLogsNow({ dryRun })],
      ['prune backups', () => p.long.pruneBackupsForSpace({ dryRun })],
      ['vacuum journal', () => p.long.vacuumJournal({ dryRun })],
    ];
    let current: DiskMeasure = triage;
    // A dry run projects usage from what each step says it would free.
    let projectedUsed = triage.usedBytes;
    const projected = () => Math.round((projectedUsed / (triage.usedBytes + triage.availableBytes)) * 10000) / 100;
    for (const [name, run] of steps) {
      const usedPercent = dryRun ? projected() : current.usedPercent;
      if (usedPercent < threshold) {
        result.notNeeded.push(name);
        continue;
      }
      p.phase(name, `${dryRun ? 'Dry run: ' : ''}${name} (usage ${Math.round(usedPercent * 100) / 100}%, target < ${threshold}%).`);
      const done = await p.step(name, run, { skippable: true });
      const after = dryRun ? current : (await p.acts.measureDisk());
      const claimed = done.value?.claimedBytes ?? 0;
      projectedUsed = Math.max(0, projectedUsed - claimed);
      const freed = dryRun ? claimed : Math.max(0, after.availableBytes - current.availableBytes);
      const usedPercentAfter = dryRun ? projected() : after.usedPercent;
      result.steps.push({ step: name, skipped: done.skipped, freedBytes: freed, claimedBytes: claimed, usedPercentAfter, details: done.value?.details ?? ['skipped by the operator'] });
      result.totalFreedBytes += freed;
      await p.record(`${name}: ${dryRun ? 'would free' : 'freed'} ${freed} bytes; ${usedPercentAfter}% used`);
      current = after;
    }

    const final = dryRun ? current : await p.acts.measureDisk();
    result.after = final;
    const finalPercent = dryRun ? projected() : final.usedPercent;
    result.underThreshold = finalPercent < threshold;
    if (!dryRun) {
      if (result.underThreshold) {
        await p.acts.resolveAlert({ code: 'disk-emergency', resolution: `usage ${finalPercent}% after freeing ${result.totalFreedBytes} bytes` });
      } else {
        await p.acts.raiseAlert({
          code: 'disk-emergency',
          level: 'critical',
          message: `disk still ${finalPercent}% used (${gb(final.availableBytes)} free of ${gb(final.totalBytes)}) after rotating logs, pruning backups and vacuuming the journal ` +
            `(freed ${result.totalFreedBytes} bytes: ${result.steps.map((s) => `${s.step} ${s.freedBytes}`).join(', ')}). Largest: ${triage.largest.slice(0, 3).map((l) => `${l.path} ${gb(l.bytes)}`).join(', ')}. ${LONG_TERM}`,
          details: { usedPercent: finalPercent, thresholdPercent: threshold, steps: result.steps },
        });
      }
    }
    p.finish('completed', `${dryRun ? 'Dry run: would free' : 'Freed'} ${result.totalFreedBytes} bytes; ${finalPercent}% used (target < ${threshold}%).${result.underThreshold ? '' : ` ${LONG_TERM}`}`);
    return result;
  } catch (err) {
    if (err instanceof AbortRequested) {
      result.outcome = 'aborted';
      p.finish('aborted', `Aborted; freed ${result.totalFreedBytes} bytes before.`);
      return result;
    }
    p.finish('failed', `Failed: ${(err as Error).message}`);
    if (err instanceof ApplicationFailure) throw err;
    throw failure.DiskEmergencyFailed(`diskEmergency ${wf} failed: ${(err as Error).message}`);
  }
}
