// The runbook's "Google Sheets API Outage": verify connectivity and record which part failed, fall
// back to read-only mode (pause atlas-export and atlas-import only: local work goes on), alert that
// approvals are offline, poll with growing intervals on durable timers or wait for the operator's
// `restored`/`abort`, then catch up with a full export and a force-check import, unpause exactly
// what it paused, resolve the alert, and return a summary.
import { condition, defineSignal, setHandler, workflowInfo } from '@temporalio/workflow';
import type { ConnectivityReport } from '../src/sheets/doctor';
import { formatDuration, parseDuration } from '../src/workflow-safe/duration';
import { DECISION_TIMEOUT, HOME, HOST_QUEUE, REMINDER_INTERVAL, inputTable, type ArgsOf, type InputOf } from './lib/input';
import { DURATION_MIN } from '../src/workflow-safe/limits';
import { boundedText, type Actor, type Procedure } from './lib/procedure';
import { runProcedure, type ProcedureBody } from './lib/template';
import { failure } from '../src/workflow-safe/failures';

export const SHEETS_SCHEDULES = ['export', 'import'] as const;
export const OUTAGE_ALERT = 'sheets-outage';
/** Growing poll intervals; the last one repeats. */
export const DEFAULT_POLL_INTERVALS = ['1m', '2m', '5m', '10m', '15m', '30m'] as const;

export const SHEETS_OUTAGE_INPUT = inputTable([
  { name: 'reason', type: 'text', default: 'started by the operator', doc: 'Why: recorded in ops.db.' },
  { name: 'detectedBy', type: 'string', doc: 'The sync run whose failure started this procedure (outage detection).' },
  { name: 'requestedBy', type: 'string', doc: 'Who started it (recorded in ops.db).' },
  { name: 'pollIntervals', type: 'durations', min: DURATION_MIN.pollInterval, default: DEFAULT_POLL_INTERVALS.map((d) => parseDuration(d)), doc: 'Durations ("30s", "5m") or milliseconds, growing; the last one repeats.' },
  REMINDER_INTERVAL,
  DECISION_TIMEOUT,
  HOST_QUEUE,
  HOME,
]);

export type SheetsOutageInput = InputOf<typeof SHEETS_OUTAGE_INPUT>;

export interface SheetsOutageResult {
  outcome: 'completed' | 'aborted';
  workflowId: string;
  reason: string;
  /** The first part of the connectivity check that failed at the start (dns, tcp, https, auth, spreadsheet, read, write). */
  failedPart?: string;
  failedDetail?: string;
  outageMs: number;
  polls: number;
  pausedSchedules: string[];
  leftPaused: string[];
  unpausedSchedules: string[];
  caughtUp?: { rowsExported: number; decisionsApplied: number; alreadyApplied: number; notApplied: number };
  restoredBy?: string;
  abortedBy?: string;
}

export const restoredSignal = defineSignal<[Actor]>('restored');

const failedCheck = (r: ConnectivityReport) => r.checks.find((c) => !c.ok);

export function sheetsOutage(input?: SheetsOutageInput): Promise<SheetsOutageResult> {
  return runProcedure({ name: 'sheetsOutage', input: SHEETS_OUTAGE_INPUT, failure: failure.SheetsOutageFailed, keepCause: true }, input, (p, args) => new SheetsOutage(p, args));
}

class SheetsOutage implements ProcedureBody<SheetsOutageResult> {
  readonly result: SheetsOutageResult;
  private readonly wf: string;
  private readonly started = workflowInfo().startTime.getTime();
  private restored?: Actor;
  private alertRaised = false;

  constructor(private readonly p: Procedure, private readonly args: ArgsOf<typeof SHEETS_OUTAGE_INPUT>) {
    this.wf = p.workflowId;
    this.result = { outcome: 'completed', workflowId: this.wf, reason: args.reason, outageMs: 0, polls: 0, pausedSchedules: [], leftPaused: [], unpausedSchedules: [] };
    setHandler(restoredSignal, (actor) => {
      this.restored = boundedText(actor);
      p.event('operator says the Sheets API is restored', this.restored.by);
    });
  }

  async run(): Promise<void> {
    const { p, args } = this;
    await p.record(`Sheets outage: ${args.reason}${args.detectedBy ? ` (detected by ${args.detectedBy})` : ''}`, args.requestedBy);
    const failed = await this.verify();
    if (failed) {
      await this.readOnly(failed);
      await this.waitForRecovery();
    } else {
      await p.record('connectivity check passes now: catching up without pausing');
    }
    const caughtUp = await this.catchUp();
    await this.resume(caughtUp);
  }

  /** Verify: which part of the path to the Sheets API fails (none: a false alarm). */
  private async verify(): Promise<ConnectivityReport['checks'][number] | undefined> {
    const { p, result } = this;
    p.phase('verify', 'Checking DNS, TCP, HTTPS, auth and the spreadsheet permission.');
    const failed = failedCheck(await p.acts.sheetsConnectivity({ permissions: true }));
    if (!failed) return undefined;
    result.failedPart = failed.name;
    result.failedDetail = failed.detail;
    await p.record(`connectivity check failed at ${failed.name}: ${failed.detail}`);
    return failed;
  }

  /** Read-only mode: only the sync schedules paused; approvals are offline, say so loudly. */
  private async readOnly(failed: ConnectivityReport['checks'][number]): Promise<void> {
    const { p, result, wf } = this;
    p.phase('read-only', 'Pausing atlas-export and atlas-import (backups and local work go on) and alerting that approvals are offline.');
    const pause = await p.step('pause sync schedules', () => p.acts.pauseSchedules({ names: [...SHEETS_SCHEDULES], workflowId: wf, procedure: 'sheetsOutage' }));
    result.pausedSchedules = pause.paused;
    result.leftPaused = pause.alreadyPaused;
    await p.acts.raiseAlert({
      code: OUTAGE_ALERT,
      level: 'critical',
      message: `approvals offline: the Sheets API fails at ${failed.name} (${failed.detail}). Sync is paused; decisions typed in the sheet are applied when it is back. Procedure ${wf}; when fixed: atlas-ops sheets-outage restored`,
    });
    this.alertRaised = true;
    await p.acts.sheetsSetBanner({ banner: `Approvals sync is paused (Sheets outage since ${new Date(this.started).toISOString()}): decisions typed now are applied when it is back.` });
  }

  /** Wait: poll with growing intervals on durable timers; `restored` checks at once. */
  private async waitForRecovery(): Promise<void> {
    const { p, result } = this;
    const intervals = this.args.pollIntervals;
    p.phase('wait', 'Polling the Sheets API with growing intervals.');
    for (let i = 0; ; i++) {
      const interval = intervals[Math.min(i, intervals.length - 1)]!;
      p.status.waitingFor = 'the Sheets API to recover (or signal "restored" / "abort")';
      p.status.state = 'waiting';
      p.details(
        `Sheets API failing at **${result.failedPart}**. Next check in ${formatDuration(interval)} (check ${i + 1}).\n\n` +
          `When you have fixed it: \`atlas-ops sheets-outage restored\` (signal \`restored\`). To give up: signal \`abort\` (schedules are unpaused).`,
      );
      await condition(() => this.restored !== undefined || p.abortRequest !== undefined, interval);
      p.throwIfAborted();
      p.status.waitingFor = undefined;
      p.status.state = 'running';
      const check = await p.acts.sheetsConnectivity({ permissions: true });
      result.polls++;
      const restored = this.restored;
      if (check.ok) {
        result.restoredBy = restored?.by;
        await p.record(`Sheets API healthy again after ${result.polls} check(s)${restored ? ' (operator said restored)' : ''}`, restored?.by);
        return;
      }
      const still = failedCheck(check)!;
      if (restored) {
        await p.record(`operator said restored, but the check still fails at ${still.name}: ${still.detail}`, restored.by);
        this.restored = undefined;
      }
    }
  }

  /** Catch up: a full export, then a force-check import of every decision typed meanwhile. */
  private async catchUp(): Promise<NonNullable<SheetsOutageResult['caughtUp']>> {
    const { p, wf } = this;
    p.phase('catch-up', 'Full export, then a force-check import of every decision in the sheet.');
    const exported = await p.step('full export', () => p.long.sheetsExportRun({ workflowId: wf, full: true }));
    const imported = await p.step('force-check import', () => p.long.sheetsImportRun({ workflowId: wf, forceCheck: true }));
    const caughtUp = {
      rowsExported: exported.rowsWritten,
      decisionsApplied: imported.applied ?? 0,
      alreadyApplied: imported.alreadyApplied ?? 0,
      notApplied: imported.notApplied ?? 0,
    };
    this.result.caughtUp = caughtUp;
    await p.record(`caught up: ${exported.rowsWritten} rows exported, ${imported.applied ?? 0} decisions applied`);
    return caughtUp;
  }

  private async resume(caughtUp: NonNullable<SheetsOutageResult['caughtUp']>): Promise<void> {
    const { p, result } = this;
    p.phase('resume', 'Unpausing the schedules this procedure paused and resolving the alert.');
    await p.step('unpause sync schedules', () => this.unpause());
    if (this.alertRaised) await p.acts.resolveAlert({ code: OUTAGE_ALERT, resolution: `Sheets API back; caught up (${caughtUp.decisionsApplied} decisions applied)` });
    result.outageMs = Date.now() - this.started;
    p.finish('completed', `Recovered after ${formatDuration(result.outageMs)}; ${caughtUp.decisionsApplied} decisions applied; unpaused: ${result.unpausedSchedules.join(', ') || 'none'}.`);
  }

  private async unpause(): Promise<void> {
    if (this.result.pausedSchedules.length) {
      this.result.unpausedSchedules = await this.p.acts.unpauseSchedules({ names: this.result.pausedSchedules, workflowId: this.wf, procedure: 'sheetsOutage' });
    }
  }

  /** Every exit that is not recovery: the sync schedules this procedure paused run again. */
  async undo(): Promise<void> {
    await this.unpause();
  }

  async aborted(actor: Actor): Promise<void> {
    const { p, result } = this;
    result.outcome = 'aborted';
    result.abortedBy = actor.by;
    if (this.alertRaised) await p.acts.resolveAlert({ code: OUTAGE_ALERT, resolution: `outage procedure aborted${actor.by ? ` by ${actor.by}` : ''}; sync schedules unpaused` });
    result.outageMs = Date.now() - this.started;
    p.finish('aborted', `Aborted; schedules unpaused: ${result.unpausedSchedules.join(', ') || 'none'}.`);
    await p.record('sheets outage procedure aborted', actor.by);
  }
}
