// The runbook's "Google Sheets API Outage": verify connectivity and record which part failed, fall
// back to read-only mode (pause atlas-export and atlas-import only: local work goes on), alert that
// approvals are offline, poll with growing intervals on durable timers or wait for the operator's
// `restored`/`abort`, then catch up with a full export and a force-check import, unpause exactly
// what it paused, resolve the alert, and return a summary.
import { ApplicationFailure, condition, defineSignal, setHandler, workflowInfo } from '@temporalio/workflow';
import type { ConnectivityReport } from '../src/sheets/doctor';
import { formatDuration, parseDuration } from '../src/workflow-safe/duration';
import { invalid, inputObject, optionalDuration, optionalString, rejectUnknown } from './lib/input';
import { AbortRequested, Procedure, type Actor } from './lib/procedure';
import { failure } from '../src/workflow-safe/failures';

export const SHEETS_SCHEDULES = ['export', 'import'] as const;
export const OUTAGE_ALERT = 'sheets-outage';
/** Growing poll intervals; the last one repeats. */
export const DEFAULT_POLL_INTERVALS = ['1m', '2m', '5m', '10m', '15m', '30m'] as const;

export interface SheetsOutageInput {
  reason?: string;
  /** The sync run whose failure started this procedure (outage detection). */
  detectedBy?: string;
  requestedBy?: string;
  /** Durations ("30s", "5m") or milliseconds, growing; the last one repeats. */
  pollIntervals?: (string | number)[];
  reminderInterval?: string | number;
  decisionTimeout?: string | number;
  hostQueue?: string;
}

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

const FIELDS = ['reason', 'detectedBy', 'requestedBy', 'pollIntervals', 'reminderInterval', 'decisionTimeout', 'hostQueue'] as const;

function pollIntervals(input: Record<string, unknown>): number[] {
  const v = input.pollIntervals;
  if (v === undefined || v === null) return DEFAULT_POLL_INTERVALS.map((d) => parseDuration(d));
  if (!Array.isArray(v) || v.length === 0) throw invalid('pollIntervals', `expected a non-empty list of durations such as ["1m", "5m"], got ${JSON.stringify(v)}`);
  return v.map((_, i) => optionalDuration({ [`pollIntervals[${i}]`]: v[i] }, `pollIntervals[${i}]`)!);
}

const failedCheck = (r: ConnectivityReport) => r.checks.find((c) => !c.ok);

export async function sheetsOutage(rawInput?: SheetsOutageInput): Promise<SheetsOutageResult> {
  const input = inputObject(rawInput, 'sheetsOutage');
  rejectUnknown(input, FIELDS);
  const reason = optionalString(input, 'reason') ?? 'started by the operator';
  const detectedBy = optionalString(input, 'detectedBy');
  const requestedBy = optionalString(input, 'requestedBy');
  const intervals = pollIntervals(input);
  const reminderInterval = optionalDuration(input, 'reminderInterval');
  const decisionTimeout = optionalDuration(input, 'decisionTimeout');
  const hostQueue = optionalString(input, 'hostQueue');

  const p = await Procedure.start('sheetsOutage', { reminderInterval, decisionTimeout, hostQueue });
  const wf = p.workflowId;
  const started = workflowInfo().startTime.getTime();
  const result: SheetsOutageResult = { outcome: 'completed', workflowId: wf, reason, outageMs: 0, polls: 0, pausedSchedules: [], leftPaused: [], unpausedSchedules: [] };
  p.status.facts = result as unknown as Record<string, unknown>;
  let restored: Actor | undefined;
  setHandler(restoredSignal, (actor) => {
    restored = actor ?? {};
    p.event('operator says the Sheets API is restored', actor?.by);
  });
  let alertRaised = false;

  const undo = async () => {
    if (result.pausedSchedules.length) {
      result.unpausedSchedules = await p.acts.unpauseSchedules({ names: result.pausedSchedules, workflowId: wf, procedure: 'sheetsOutage' });
    }
  };

  try {
    await p.record(`Sheets outage: ${reason}${detectedBy ? ` (detected by ${detectedBy})` : ''}`, requestedBy);
    p.phase('verify', 'Checking DNS, TCP, HTTPS, auth and the spreadsheet permission.');
    const first = await p.acts.sheetsConnectivity({ permissions: true });
    const failed = failedCheck(first);
    if (failed) {
      result.failedPart = failed.name;
      result.failedDetail = failed.detail;
      await p.record(`connectivity check failed at ${failed.name}: ${failed.detail}`);

      p.phase('read-only', 'Pausing atlas-export and atlas-import (backups and local work go on) and alerting that approvals are offline.');
      const pause = (await p.step('pause sync schedules', () => p.acts.pauseSchedules({ names: [...SHEETS_SCHEDULES], workflowId: wf, procedure: 'sheetsOutage' }))).value!;
      result.pausedSchedules = pause.paused;
      result.leftPaused = pause.alreadyPaused;
      await p.acts.raiseAlert({
        code: OUTAGE_ALERT,
        level: 'critical',
        message: `approvals offline: the Sheets API fails at ${failed.name} (${failed.detail}). Sync is paused; decisions typed in the sheet are applied when it is back. Procedure ${wf}; when fixed: atlas-ops sheets-outage restored`,
      });
      alertRaised = true;
      await p.acts.sheetsSetBanner({ banner: `Approvals sync is paused (Sheets outage since ${new Date(started).toISOString()}): decisions typed now are applied when it is back.` });

      p.phase('wait', 'Polling the Sheets API with growing intervals.');
      for (let i = 0; ; i++) {
        const interval = intervals[Math.min(i, intervals.length - 1)]!;
        p.status.waitingFor = 'the Sheets API to recover (or signal "restored" / "abort")';
        p.status.state = 'waiting';
        p.details(
          `Sheets API failing at **${result.failedPart}**. Next check in ${formatDuration(interval)} (check ${i + 1}).\n\n` +
            `When you have fixed it: \`atlas-ops sheets-outage restored\` (signal \`restored\`). To give up: signal \`abort\` (schedules are unpaused).`,
        );
        await condition(() => restored !== undefined || p.abortRequest !== undefined, interval);
        p.throwIfAborted();
        p.status.waitingFor = undefined;
        p.status.state = 'running';
        const check = await p.acts.sheetsConnectivity({ permissions: true });
        result.polls++;
        if (check.ok) {
          result.restoredBy = restored?.by;
          await p.record(`Sheets API healthy again after ${result.polls} check(s)${restored ? ' (operator said restored)' : ''}`, restored?.by);
          break;
        }
        const still = failedCheck(check)!;
        if (restored) {
          await p.record(`operator said restored, but the check still fails at ${still.name}: ${still.detail}`, restored.by);
          restored = undefined;
        }
      }
    } else {
      await p.record('connectivity check passes now: catching up without pausing');
    }

    p.phase('catch-up', 'Full export, then a force-check import of every decision in the sheet.');
    const exported = (await p.step('full export', () => p.long.sheetsExportRun({ workflowId: wf, full: true }))).value!;
    const imported = (await p.step('force-check import', () => p.long.sheetsImportRun({ workflowId: wf, forceCheck: true }))).value!;
    result.caughtUp = {
      rowsExported: exported.rowsWritten,
      decisionsApplied: imported.applied ?? 0,
      alreadyApplied: imported.alreadyApplied ?? 0,
      notApplied: imported.notApplied ?? 0,
    };
    await p.record(`caught up: ${exported.rowsWritten} rows exported, ${imported.applied ?? 0} decisions applied`);

    p.phase('resume', 'Unpausing the schedules this procedure paused and resolving the alert.');
    await p.step('unpause sync schedules', undo);
    if (alertRaised) await p.acts.resolveAlert({ code: OUTAGE_ALERT, resolution: `Sheets API back; caught up (${result.caughtUp.decisionsApplied} decisions applied)` });
    result.outageMs = Date.now() - started;
    p.finish('completed', `Recovered after ${formatDuration(result.outageMs)}; ${result.caughtUp.decisionsApplied} decisions applied; unpaused: ${result.unpausedSchedules.join(', ') || 'none'}.`);
    return result;
  } catch (err) {
    if (err instanceof AbortRequested) {
      result.outcome = 'aborted';
      result.abortedBy = err.actor.by;
      await undo();
      if (alertRaised) await p.acts.resolveAlert({ code: OUTAGE_ALERT, resolution: `outage procedure aborted${err.actor.by ? ` by ${err.actor.by}` : ''}; sync schedules unpaused` });
      result.outageMs = Date.now() - started;
      p.finish('aborted', `Aborted; schedules unpaused: ${result.unpausedSchedules.join(', ') || 'none'}.`);
      await p.record('sheets outage procedure aborted', err.actor.by);
      return result;
    }
    await undo();
    p.finish('failed', `Failed: ${(err as Error).message}`);
    if (err instanceof ApplicationFailure) throw err;
    throw failure.SheetsOutageFailed(`sheetsOutage ${wf} failed: ${(err as Error).message}`, { cause: err as Error });
  }
}
