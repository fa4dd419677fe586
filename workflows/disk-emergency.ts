// The runbook's "Disk Space Emergency": triage, then rotate logs → prune backups to the 3 newest
// verified → vacuum the journal, measuring the filesystem after each step and stopping once usage
// is under the threshold. Still above after all three: a critical alert with the figures and the
// long-term options. `dryRun` reports what each step would free and changes nothing.
import type { DiskMeasure, DiskTriage, StepReport } from '../activities/disk';
import { DECISION_TIMEOUT, HOME, HOST_QUEUE, inputTable, type ArgsOf, type InputOf } from './lib/input';
import type { Procedure } from './lib/procedure';
import { runProcedure, type ProcedureBody } from './lib/template';
import { failure } from '../src/workflow-safe/failures';

export const DISK_EMERGENCY_INPUT = inputTable([
  { name: 'dryRun', type: 'boolean', default: false, doc: 'Report what each step would free; change nothing.' },
  { name: 'thresholdPercent', type: 'percent', doc: 'Stop once usage is below this percentage (default: thresholds.diskPercent, 80).' },
  { name: 'trigger', type: 'text', doc: 'What started it (a health check, an operator).' },
  DECISION_TIMEOUT,
  HOST_QUEUE,
  HOME,
]);

export type DiskEmergencyInput = InputOf<typeof DISK_EMERGENCY_INPUT>;

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

const LONG_TERM = 'Long-term: extend the OCI block volume, tighten log rotation, archive backups to Object Storage.';

const gb = (n: number) => `${(n / 1e9).toFixed(2)} GB`;

export function diskEmergency(input?: DiskEmergencyInput): Promise<DiskEmergencyResult> {
  return runProcedure({ name: 'diskEmergency', input: DISK_EMERGENCY_INPUT, failure: failure.DiskEmergencyFailed }, input, (p, args) => new DiskEmergency(p, args));
}

class DiskEmergency implements ProcedureBody<DiskEmergencyResult> {
  readonly result: DiskEmergencyResult;
  private readonly dryRun: boolean;

  constructor(private readonly p: Procedure, private readonly args: ArgsOf<typeof DISK_EMERGENCY_INPUT>) {
    this.dryRun = args.dryRun;
    this.result = { outcome: 'completed', dryRun: args.dryRun, workflowId: p.workflowId, thresholdPercent: 0, steps: [], notNeeded: [], underThreshold: false, totalFreedBytes: 0 };
  }

  async run(): Promise<void> {
    const triage = await this.triage();
    const { current, projected } = await this.freeSpace(triage);
    await this.report(triage, current, projected);
  }

  /** Triage: usage, the largest paths, log sizes; the target is the input's or the configured one. */
  private async triage(): Promise<DiskTriage> {
    const { p, result, dryRun } = this;
    p.phase('triage', 'Usage of the filesystem holding the Atlas home, the largest paths, log sizes.');
    const triage = await p.step('triage', () => p.acts.diskTriage());
    result.triage = triage;
    result.before = triage;
    result.thresholdPercent = this.args.thresholdPercent ?? triage.thresholdPercent;
    await p.record(`disk emergency${dryRun ? ' (dry run)' : ''}${this.args.trigger ? ` (${this.args.trigger})` : ''}: ${triage.usedPercent}% used of ${gb(triage.totalBytes)}, target < ${result.thresholdPercent}%`);
    return triage;
  }

  /** Rotate logs → prune backups → vacuum the journal, measuring after each, until under the threshold. */
  private async freeSpace(triage: DiskTriage): Promise<{ current: DiskMeasure; projected: () => number }> {
    const { p, result, dryRun } = this;
    const threshold = result.thresholdPercent;
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
    return { current, projected };
  }

  /** Under the threshold: resolve the alert. Still above: a critical alert with the figures and the long-term options. */
  private async report(triage: DiskTriage, current: DiskMeasure, projected: () => number): Promise<void> {
    const { p, result, dryRun } = this;
    const threshold = result.thresholdPercent;
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
  }

  async aborted(): Promise<void> {
    this.result.outcome = 'aborted';
    this.p.finish('aborted', `Aborted; freed ${this.result.totalFreedBytes} bytes before.`);
  }
}
