// Following a procedure from the CLI (--wait): prints each phase and step, the progress of long
// activities (from their heartbeat details), what the procedure waits for and the exact command
// that moves it on; returns the exit code (0 only when the procedure completed). On a terminal a
// live status line is rewritten in place; elsewhere (logs, pipes, CI) only plain lines are printed.
import type { Client, WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { AtlasConfig } from '../config';
import { formatDuration } from '../workflow-safe/duration';
import { statusQuery, type ProcedureStatus } from '../../workflows/lib/procedure';
import { EXIT, colour, link } from './common';
import { terminalLine } from './terminal-text';
import { temporalClient } from '../temporal/sdk';
import { shellQuote } from '../workflow-safe/shell-quote';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function queryStatus(handle: WorkflowHandle, timeoutMs = 10_000): Promise<ProcedureStatus | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    // A query waits for a worker; with none running it would hang, so it is bounded.
    return await Promise.race([
      handle.query(statusQuery),
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs))),
    ]);
  } catch {
    // Not yet registered (the procedure is still starting) or the worker is away.
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

const STARTING = new Set(['start', 'lock']);
const ENDED = new Set(['completed', 'aborted', 'rolled-back', 'failed', 'timed-out']);

/** The describe() status name of a workflow: RUNNING, COMPLETED, FAILED, … */
async function executionStatus(handle: WorkflowHandle): Promise<string> {
  return (await handle.describe()).status.name;
}

/**
 * Waits until the procedure got past its start (lock and input checks), so that a refused start
 * is reported by the command that made it. Returns the failure message if it failed.
 */
export async function waitUntilStarted(handle: WorkflowHandle, timeoutMs = 20_000): Promise<{ failed?: string; status?: ProcedureStatus }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await executionStatus(handle)) !== 'RUNNING') {
      try {
        await handle.result();
        return {};
      } catch (err) {
        return { failed: failureMessage(err) };
      }
    }
    const status = await queryStatus(handle);
    // A procedure that ended is reported from its result on the next turn, not from its last status.
    if (status && !STARTING.has(status.phase) && !ENDED.has(status.state)) return { status };
    await sleep(200);
  }
  return {};
}

export function failureMessage(err: unknown): string {
  if (err instanceof temporalClient().WorkflowFailedError) {
    const cause = err.cause as (Error & { cause?: Error }) | undefined;
    return cause?.cause?.message && !cause.message ? cause.cause.message : cause?.message ?? err.message;
  }
  return (err as Error).message;
}

export interface Outcome {
  exitCode: number;
  result?: unknown;
  error?: string;
}

export function exitCodeFor(result: unknown): number {
  const outcome = (result as { outcome?: string } | undefined)?.outcome;
  return outcome === undefined || outcome === 'completed' || outcome === 'ok' ? EXIT.ok : EXIT.notCompleted;
}

/** A long activity's progress, from the details of its last heartbeat. */
export interface ActivityProgress {
  activity: string;
  attempt: number;
  percent?: number;
  bytes?: number;
  totalBytes?: number;
  lastFailure?: string;
}

/** Progress of the procedure's pending activities (a snapshot heartbeats `{bytesCopied, totalBytes, percent}`). */
export function pendingProgress(description: WorkflowExecutionDescription): ActivityProgress[] {
  return (description.raw.pendingActivities ?? []).map((a) => {
    const out: ActivityProgress = { activity: a.activityType?.name ?? '?', attempt: a.attempt ?? 1 };
    const payload = a.heartbeatDetails?.payloads?.[0];
    if (payload) {
      try {
        const d = defaultPayloadConverter.fromPayload<Record<string, unknown>>(payload);
        if (typeof d?.percent === 'number') out.percent = d.percent;
        if (typeof d?.bytesCopied === 'number') out.bytes = d.bytesCopied;
        if (typeof d?.totalBytes === 'number') out.totalBytes = d.totalBytes;
      } catch {
        /* details in a shape we do not know: no percentage */
      }
    }
    if (a.lastFailure?.message) out.lastFailure = a.lastFailure.message;
    return out;
  });
}

/** Elapsed time to the second, for people: "1m5s". */
export const elapsed = (ms: number) => formatDuration(Math.max(1000, Math.floor(ms / 1000) * 1000));

const mb = (n: number) => `${(n / 1_048_576).toFixed(1)} MB`;

export function describeProgress(p: ActivityProgress): string {
  const size = p.bytes !== undefined && p.totalBytes ? ` (${mb(p.bytes)} of ${mb(p.totalBytes)})` : '';
  const attempt = p.attempt > 1 ? `, attempt ${p.attempt}${p.lastFailure ? ` after: ${p.lastFailure}` : ''}` : '';
  return `${p.activity}${p.percent !== undefined ? ` ${p.percent}%` : ''}${size}${attempt}`;
}

/**
 * The exact commands that move a waiting procedure on. One entry per procedure that has its own
 * commands; every procedure shares the failed-step decision and the Web UI link.
 */
const RESUME_COMMANDS: Record<string, (status: ProcedureStatus, id: string) => string[]> = {
  maintenance: (status, id) =>
    status.phase === 'edit'
      ? [`when done:  atlas-ops maintenance resume ${shellQuote(id)} --by <you> --note "<what changed>"`, `to give up: atlas-ops maintenance abort ${shellQuote(id)} [--rollback]`]
      : [`roll back:  atlas-ops maintenance abort ${shellQuote(id)} --rollback`, `or resume:  atlas-ops maintenance resume ${shellQuote(id)} --force`],
};

export function nextCommands(status: ProcedureStatus, id: string): string[] {
  if (status.failedStep) return [`decide:     atlas-ops decide ${shellQuote(id)} <${status.failedStep.allowed.join('|')}> --by <you> --note "<why>"`];
  if (!status.waitingFor) return [];
  return RESUME_COMMANDS[status.procedure]?.(status, id) ?? [`see:        atlas-ops status ${shellQuote(id)}`];
}

/** The last events of a procedure, one line each, as `status` commands print them. */
export function recentEventLines(status: ProcedureStatus, count = 10): string[] {
  return status.events.slice(-count).map((e) => `  ${e.at} ${e.actor ? `${e.actor}: ` : ''}${e.message}`);
}

/** Where --wait writes: permanent lines, and on a terminal one live line rewritten in place. */
export interface FollowOutput {
  line(text: string): void;
  live?(text: string): void;
  done?(): void;
}

export function plainOutput(write: (s: string) => void): FollowOutput {
  return { line: (text) => write(`${terminalLine(text, colour.enabled())}\n`) };
}

export function terminalOutput(write: (s: string) => void): FollowOutput {
  let current = '';
  const clear = '\r\x1b[K';
  return {
    line(text) {
      write(`${clear}${terminalLine(text, colour.enabled())}\n${current}`);
    },
    live(text) {
      current = terminalLine(text, colour.enabled());
      write(`${clear}${current}`);
    },
    done() {
      if (current) write(clear);
      current = '';
    },
  };
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** Turns successive observations of a procedure into output: only what changed is printed. */
export class ProgressView {
  private phasesSeen = 0;
  private lastStep = '';
  private lastWaiting = '';
  private lastEvents = 0;
  private lastBucket = new Map<string, number>();
  private ticks = 0;

  constructor(
    private readonly out: FollowOutput,
    private readonly workflowId: string,
    private readonly url: string,
  ) {}

  update(status: ProcedureStatus | undefined, progress: ActivityProgress[], now = Date.now()): void {
    if (status) {
      // Phases and events since the last look, in the order they happened (a poll can miss a
      // fast phase, never its record).
      const news = [
        ...status.phases.slice(this.phasesSeen).map((p) => ({ at: p.startedAt, order: 0, text: `${colour.bold(`[${p.name}]`)} ${status.procedure} ${this.workflowId}` })),
        ...status.events.slice(this.lastEvents).map((e) => ({ at: e.at, order: 1, text: `  ${e.at.slice(11, 19)} ${e.actor ? `${e.actor}: ` : ''}${e.message}` })),
      ].sort((a, b) => a.at.localeCompare(b.at) || a.order - b.order);
      for (const n of news) this.out.line(n.text);
      this.phasesSeen = status.phases.length;
      this.lastEvents = status.events.length;
      if (status.step && status.step !== this.lastStep) this.out.line(`  step: ${status.step}`);
      this.lastStep = status.step ?? '';
      const waiting = status.failedStep ? `failed step ${status.failedStep.step}: ${status.failedStep.error}` : status.waitingFor ?? '';
      if (waiting !== this.lastWaiting) {
        if (status.failedStep) this.out.line(colour.red(`  step "${status.failedStep.step}" failed: ${status.failedStep.error}`));
        else if (status.waitingFor) this.out.line(colour.yellow(colour.bold(`  waiting for you: ${status.waitingFor}`)));
        if (waiting) {
          for (const c of nextCommands(status, this.workflowId)) this.out.line(`  ${c}`);
          this.out.line(`  or in the Web UI: ${this.url}`);
        }
        this.lastWaiting = waiting;
      }
    }
    // Plain output gets a line per quarter of progress; a terminal gets every percent, live.
    for (const p of progress) {
      if (p.percent === undefined || this.out.live) continue;
      const bucket = Math.floor(p.percent / 25);
      if (this.lastBucket.get(p.activity) !== bucket) this.out.line(`  progress: ${describeProgress(p)}`);
      this.lastBucket.set(p.activity, bucket);
    }
    if (this.out.live && status) {
      const spin = SPINNER[this.ticks++ % SPINNER.length];
      const since = elapsed(now - Date.parse(status.startedAt));
      const activity = progress.length ? ` · ${progress.map(describeProgress).join(', ')}` : '';
      const state = status.waitingFor || status.failedStep ? colour.yellow('waiting for you') : status.step ? `step "${status.step}"` : status.state;
      this.out.live(`${spin} [${status.phase}] ${state}${activity} · ${since}`);
    }
  }
}

export async function followProcedure(client: Client, config: AtlasConfig, workflowId: string, out: FollowOutput | ((line: string) => void), pollMs = 1000): Promise<Outcome> {
  const output = typeof out === 'function' ? { line: (text: string) => out(terminalLine(text, colour.enabled())) } : out;
  const handle = client.workflow.getHandle(workflowId);
  const view = new ProgressView(output, workflowId, link(config, workflowId));
  try {
    for (;;) {
      const description = await handle.describe();
      if (description.status.name !== 'RUNNING') break;
      view.update(await queryStatus(handle), pendingProgress(description));
      await sleep(output.live ? Math.min(pollMs, 250) : pollMs);
    }
    // The last phases may have run between two polls: a closed workflow still answers its query.
    view.update(await queryStatus(handle, 3000), []);
  } finally {
    output.done?.();
  }
  try {
    const result = await handle.result();
    return { exitCode: exitCodeFor(result), result };
  } catch (err) {
    return { exitCode: EXIT.failed, error: failureMessage(err) };
  }
}
