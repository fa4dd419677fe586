// What every procedure shares: its status query, current details and search attributes in the
// Web UI, abort, waiting for a person with reminders, and the rule that a step which still fails
// after its retries does not end the procedure but waits for the operator's decision.
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  TimeoutFailure,
  condition,
  isCancellation,
  defineQuery,
  patched,
  defineSignal,
  defineUpdate,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityFunction,
  type ActivityFunctionWithOptions,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { HostActivities, WorkflowQueueActivities } from '../../activities';
import type { ProcedureContext } from '../../activities/host';
import { formatDuration } from '../../src/workflow-safe/duration';
import { ATLAS_HOST, ATLAS_PHASE, ATLAS_PROCEDURE, ATLAS_WAITING_FOR } from '../search-attributes';
import { failure } from '../../src/workflow-safe/failures';
import { NAME_MAX, TEXT_MAX, WORKFLOW_QUEUE_STEP_TIMEOUT, cutText, lengthProblem } from '../../src/workflow-safe/limits';
import { hostOfQueue, unservedQueueMessage } from '../../src/workflow-safe/host-queue';
import { confirmTarget } from './target';
import { shellQuote } from '../../src/workflow-safe/shell-quote';

export type Decision = 'retry' | 'skip' | 'rollback' | 'abort';
export const DECISIONS: readonly Decision[] = ['retry', 'skip', 'rollback', 'abort'];

export interface Actor {
  by?: string;
  note?: string;
}

/** The operator text signals and updates carry, with its cap: names and ids NAME_MAX, notes TEXT_MAX. */
const OPERATOR_TEXT: readonly (readonly [string, number])[] = [['by', NAME_MAX], ['note', TEXT_MAX], ['backupId', NAME_MAX], ['stage', NAME_MAX]];

/** What is too long in a signal's or update's argument, naming the field; for an update's validator. */
export function operatorTextProblem(arg: unknown): string | undefined {
  if (!arg || typeof arg !== 'object') return undefined;
  for (const [field, max] of OPERATOR_TEXT) {
    const value = (arg as Record<string, unknown>)[field];
    const problem = typeof value === 'string' ? lengthProblem(value, max) : undefined;
    if (problem) return `${field}: ${problem}`;
  }
  return undefined;
}

/**
 * A signal's argument with over-long text cut to its cap. A signal cannot be refused (it is in the
 * history once sent), but no copy of the excess goes further: status, ops.db, logs, the flag.
 */
export function boundedText<T extends object>(arg: T | undefined): T {
  const out: Record<string, unknown> = { ...(arg ?? {}) };
  for (const [field, max] of OPERATOR_TEXT) {
    const value = out[field];
    if (typeof value === 'string') out[field] = cutText(value, max);
  }
  return out as T;
}

export const decisionSignal = defineSignal<[Actor & { decision: Decision }]>('decision');
/** The CLI's form of a decision: refused at once when no step waits for one, or the choice is not allowed. */
export const decisionUpdate = defineUpdate<string, [Actor & { decision: Decision }]>('decisionChecked');
export const abortSignal = defineSignal<[Actor & { rollback?: boolean }]>('abort');
export const statusQuery = defineQuery<ProcedureStatus>('status');

export type ProcedureState = 'running' | 'waiting' | 'failed-step' | 'completed' | 'aborted' | 'rolled-back' | 'failed' | 'timed-out';

export interface ProcedureEvent {
  at: string;
  phase: string;
  actor?: string;
  message: string;
}

export interface FailedStep {
  step: string;
  error: string;
  errorType?: string;
  allowed: Decision[];
  since: string;
}

export interface ProcedureStatus {
  procedure: string;
  workflowId: string;
  host?: string;
  phase: string;
  state: ProcedureState;
  /** What a person must do now, in words; absent while the procedure waits for nobody. */
  waitingFor?: string;
  /** The step running now (`p.step(name, …)`), for the CLI's progress. */
  step?: string;
  failedStep?: FailedStep;
  startedAt: string;
  phases: { name: string; startedAt: string; endedAt?: string }[];
  events: ProcedureEvent[];
  /** Procedure-specific facts (snapshot path, schedules paused, …): the procedure's result so far. */
  facts: Record<string, unknown>;
}

/** Procedures started before the context came from the named host's own queue replay without asking it. */
const HOST_CONTEXT_PATCH = 'context-from-the-named-host-queue';

/**
 * The context of the host whose queue a procedure named, asked on that queue: on a cluster with
 * several Atlas hosts any worker answers the shared queue (docs/safety.md#the-home-and-host-asked). A queue no
 * worker serves keeps the answering worker's defaults with the named queue and host: the host steps
 * then fail into the operator's decision, naming the queue, as before.
 */
async function contextOfHost(hostQueue: string, answered: ProcedureContext, ctxActs: WorkflowQueueActivities): Promise<ProcedureContext> {
  const unserved = { ...answered, hostQueue, host: hostOfQueue(hostQueue) };
  if (!(await ctxActs.hostQueueServed({ queue: hostQueue }))) return unserved;
  const acts = proxyActivities<HostActivities>({
    taskQueue: hostQueue,
    startToCloseTimeout: '30s',
    scheduleToStartTimeout: answered.defaults.hostQueueTimeout,
    retry: { maximumAttempts: 3 },
  });
  try {
    return await acts.hostContext();
  } catch (err) {
    if (notTakenByAWorker(err)) return unserved;
    throw err;
  }
}

/** A host activity no worker took within hostQueueTimeout (scheduleToStartTimeout). */
function notTakenByAWorker(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === 'SCHEDULE_TO_START';
}

/** Control flow inside the workflow: the operator asked to stop. Never leaves the workflow. */
export class AbortRequested extends Error {
  constructor(readonly actor: Actor & { rollback?: boolean }) {
    super('abort requested');
  }
}

/** Control flow: the operator chose rollback at a failed step. */
export class RollbackRequested extends Error {
  constructor(readonly actor: Actor) {
    super('rollback requested');
  }
}

/** Failure types that no operator decision can mend: the procedure ends with them. */
const FATAL_TYPES = new Set<string>([failure.InvalidInput.type, failure.ProcedureConflict.type, failure.DrainTimeout.type]);

const iso = (ms: number) => new Date(ms).toISOString();

export interface ProcedureOptions {
  /** Run host activities on this host's queue instead of the worker's own (multi-host setups). */
  hostQueue?: string;
  /** The home the operator named: the worker serving the host queue must serve it (./target.ts). */
  home?: string;
  decisionTimeout?: number;
  reminderInterval?: number;
  /** Retries of a step before it becomes the operator's decision. */
  stepAttempts?: number;
}

/**
 * A step's work. `attempt` counts the operator's tries (1, then 2 after a "retry" decision): an
 * activity whose idempotency key must not make a retry return the failed result again (a FAULTY
 * volume backup under the same OCI retry token) puts it in its key. Temporal's own retries of one
 * attempt reuse the same input, so they stay idempotent.
 */
export type StepRun<T> = (attempt: number) => Promise<T>;

export interface StepOptions {
  /** Skipping is offered only where it is safe; such a step returns `{ value?, skipped }`. */
  skippable?: boolean;
  /** Rollback is offered where the procedure knows how to undo. */
  rollback?: boolean;
  /** Failure types that end the procedure at once in this step (no operator decision can mend them here). */
  fatal?: readonly string[];
}

export class Procedure {
  readonly status: ProcedureStatus;
  readonly context: ProcedureContext;
  /** Short host activities. */
  readonly acts: HostActivities;
  /** Long host activities (snapshots, restores): heartbeats decide liveness. */
  readonly long: HostActivities;
  /** Undo activities put the host back in its safe state, so they retry until they succeed. */
  readonly undo: HostActivities;
  /** Undo that copies a whole database (a restore): synchronous, so it cannot heartbeat. */
  readonly undoLong: HostActivities;
  private pendingDecision?: Actor & { decision: Decision };
  /**
   * No worker serves the host queue (a host step did not start): the procedure's records and alerts,
   * which are host activities too, stay in its status until a host step runs again.
   */
  private hostUnserved = false;
  private readonly ctxActs: WorkflowQueueActivities;
  abortRequest?: Actor & { rollback?: boolean };
  private readonly decisionTimeout: number;
  readonly reminderInterval: number;
  /** The live object shown as `facts` (bindFacts): the query copies it, so it is always current. */
  private facts: object = {};

  private constructor(name: string, context: ProcedureContext, options: ProcedureOptions, ctxActs: WorkflowQueueActivities) {
    const info = workflowInfo();
    this.context = context;
    this.ctxActs = ctxActs;
    this.decisionTimeout = options.decisionTimeout ?? context.defaults.decisionTimeout;
    this.reminderInterval = options.reminderInterval ?? context.defaults.reminderInterval;
    const retry: ActivityOptions['retry'] = {
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '30s',
      maximumAttempts: options.stepAttempts ?? 4,
    };
    // A step no worker takes within hostQueueTimeout fails into the operator's decision, naming the
    // queue (step). Abort cancels a pending step: one not started is dropped at once, one running
    // is waited for, so that what it did is known and undone.
    const host: ActivityOptions = {
      taskQueue: context.hostQueue,
      scheduleToStartTimeout: context.defaults.hostQueueTimeout,
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    };
    // Short activities: a worker that dies in one is noticed after startToClose, so keep it short.
    // A history recorded before these settings existed replays with the 30 s they had then.
    const stepTimeout = context.defaults.stepTimeout ?? 30_000;
    this.acts = this.summarised({ ...host, startToCloseTimeout: stepTimeout, retry });
    // Long activities heartbeat every few seconds; a dead worker is noticed after heartbeatTimeout.
    this.long = this.summarised({ ...host, startToCloseTimeout: '6h', heartbeatTimeout: context.defaults.heartbeatTimeout ?? 30_000, retry });
    const forever: ActivityOptions['retry'] = { initialInterval: '1s', maximumInterval: '1m' };
    this.undo = this.summarised({ taskQueue: context.hostQueue, startToCloseTimeout: stepTimeout, retry: forever });
    this.undoLong = this.summarised({ taskQueue: context.hostQueue, startToCloseTimeout: '1h', retry: forever });
    this.status = {
      procedure: name,
      workflowId: info.workflowId,
      host: context.host,
      phase: 'start',
      state: 'running',
      startedAt: iso(info.startTime.getTime()),
      phases: [],
      events: [],
      facts: {},
    };
    setHandler(statusQuery, () => ({ ...this.status, facts: { ...this.facts } }));
    setHandler(abortSignal, (sent) => {
      const actor = boundedText(sent);
      this.abortRequest ??= actor;
      this.event(`abort requested${actor?.rollback ? ' with rollback' : ''}${actor?.note ? `: ${actor.note}` : ''}`, actor?.by);
    });
    setHandler(decisionSignal, (input) => this.acceptDecision(boundedText(input)));
    setHandler(
      decisionUpdate,
      (input) => {
        this.acceptDecision(input);
        return `decision "${input.decision}" accepted for step ${this.status.failedStep?.step}`;
      },
      {
        validator: (input) => {
          const tooLong = operatorTextProblem(input);
          if (tooLong) throw new Error(tooLong);
          const failed = this.status.failedStep;
          if (!failed) throw new Error(`no step of ${this.status.procedure} is waiting for a decision (phase: ${this.status.phase})`);
          if (!input || !failed.allowed.includes(input.decision)) {
            throw new Error(`decision must be one of ${failed.allowed.join(', ')} for step ${failed.step}`);
          }
        },
      },
    );
    upsertSearchAttributes([
      { key: ATLAS_PROCEDURE, value: name },
      { key: ATLAS_HOST, value: context.host },
    ]);
  }

  /**
   * Activity proxies whose every call carries a summary (procedure, phase, step) that the Web UI
   * shows on the event, so an operator reading the history sees why each activity ran.
   */
  private summarised(options: ActivityOptions): HostActivities {
    const proxies = proxyActivities<HostActivities>(options);
    return new Proxy(proxies, {
      get: (target, name) => {
        const fn = Reflect.get(target, name) as ActivityFunctionWithOptions<ActivityFunction> | undefined;
        if (typeof name !== 'string' || typeof fn !== 'function') return fn;
        return (...args: unknown[]) => fn.executeWithOptions({ ...options, summary: this.summary() }, args);
      },
    });
  }

  /** One line: `maintenance · snapshot · step "snapshot"`. */
  private summary(): string {
    const step = this.status.step ? ` · step "${this.status.step}"` : '';
    return `${this.status.procedure} · ${this.status.phase}${step}`;
  }

  /** Sets up a procedure: finds this host's activity queue and installs the shared handlers. */
  static async start(name: string, options: ProcedureOptions = {}): Promise<Procedure> {
    const ctxActs = proxyActivities<WorkflowQueueActivities>({ startToCloseTimeout: WORKFLOW_QUEUE_STEP_TIMEOUT, retry: { maximumAttempts: 10 } });
    let context = await ctxActs.procedureContext();
    if (options.hostQueue && options.hostQueue !== context.hostQueue) {
      // Whichever worker answered the shared queue: the context (paths, defaults) is the named host's.
      context = patched(HOST_CONTEXT_PATCH) ? await contextOfHost(options.hostQueue, context, ctxActs) : { ...context, hostQueue: options.hostQueue };
    }
    // Handlers first: the status query answers and an abort is heard while the check waits.
    const p = new Procedure(name, context, options, ctxActs);
    await p.confirmTarget(options);
    return p;
  }

  /**
   * The worker on the host queue confirms it serves the home asked (./target.ts). An abort during the
   * check is kept: the first step throws it, so the procedure's own abort path ends it.
   */
  private async confirmTarget(asked: ProcedureOptions): Promise<void> {
    try {
      await this.abortable(() => confirmTarget(this.context.hostQueue, asked, this.context.defaults.hostQueueTimeout));
    } catch (err) {
      if (!(err instanceof AbortRequested)) throw err;
    }
  }

  private acceptDecision(input: Actor & { decision: Decision }): void {
    const failed = this.status.failedStep;
    if (!input || !DECISIONS.includes(input.decision)) {
      this.event(`ignored decision ${JSON.stringify(input?.decision)}: not one of ${DECISIONS.join(', ')}`, input?.by);
      return;
    }
    if (!failed || !failed.allowed.includes(input.decision)) {
      this.event(`ignored decision "${input.decision}": ${failed ? `allowed are ${failed.allowed.join(', ')}` : 'no step is waiting for one'}`, input.by);
      return;
    }
    this.pendingDecision = input;
  }

  /** Shows `facts` (the procedure's result object, updated as it runs) in the status query. */
  bindFacts(facts: object): void {
    this.facts = facts;
  }

  get workflowId(): string {
    return this.status.workflowId;
  }

  event(message: string, actor?: string): ProcedureEvent {
    const event = { at: iso(Date.now()), phase: this.status.phase, actor, message };
    this.status.events.push(event);
    return event;
  }

  /**
   * Records an operator's action durably (ops.db, log) as well as in the status. With no worker on
   * the host queue it stays in the status, which says so: a record never holds a procedure up.
   */
  async record(message: string, actor?: string): Promise<void> {
    const event = this.event(message, actor);
    if (!this.hostUnserved) {
      try {
        await this.abortable(() => this.acts.recordProcedureEvent({ workflowId: this.workflowId, procedure: this.status.procedure, step: this.status.phase, actor, message }));
        return;
      } catch (err) {
        if (!notTakenByAWorker(err)) throw err;
        this.hostUnserved = true;
      }
    }
    event.message += ` (in this status only: ${unservedQueueMessage(this.context.hostQueue)})`;
  }

  phase(name: string, details: string): void {
    const now = iso(Date.now());
    const open = this.status.phases.at(-1);
    if (open && !open.endedAt) open.endedAt = now;
    this.status.phases.push({ name, startedAt: now });
    this.status.phase = name;
    this.details(details);
    upsertSearchAttributes([{ key: ATLAS_PHASE, value: name }]);
  }

  /** The Web UI's "current details": Markdown saying where the procedure is and what comes next. */
  details(text: string): void {
    setCurrentDetails(`**${this.status.procedure}**: ${this.status.phase}\n\n${text}`);
  }

  /** Shows what the procedure waits for (status, `atlas-ops list`, the Web UI's search attribute). */
  setWaiting(what: string | undefined, keyword?: string): void {
    this.status.waitingFor = what;
    this.status.state = what ? 'waiting' : 'running';
    upsertSearchAttributes([{ key: ATLAS_WAITING_FOR, value: what ? (keyword ?? 'person') : null }]);
  }

  throwIfAborted(): void {
    if (this.abortRequest) throw new AbortRequested(this.abortRequest);
  }

  /**
   * Waits until `done()` holds, for a person. Raises `alertCode` at the start and reminds every
   * reminderInterval; after `pageAfter` (when given) the reminder is a critical alert, once: a page.
   * After `timeout` (when given) calls `onTimeout` once and keeps waiting: nothing a person must do
   * is ever done by the clock (an `onTimeout` that throws is the wait's timeout outcome). Abort ends the wait.
   */
  async waitForPerson(
    what: string,
    keyword: string,
    done: () => boolean,
    options: { alertCode: string; timeout?: number; onTimeout?: () => Promise<void>; pageAfter?: number },
  ): Promise<void> {
    this.setWaiting(what, keyword);
    const started = Date.now();
    let timedOut = false;
    let paged = false;
    await this.acts.raiseAlert({ code: options.alertCode, level: 'info', message: `${this.status.procedure} ${this.workflowId} waits: ${what}` });
    try {
      for (;;) {
        this.throwIfAborted();
        let slice = this.reminderInterval;
        if (options.timeout !== undefined && !timedOut) slice = Math.min(slice, Math.max(1, started + options.timeout - Date.now()));
        if (options.pageAfter !== undefined && !paged) slice = Math.min(slice, Math.max(1, started + options.pageAfter - Date.now()));
        const summary = `${this.status.procedure}: waiting for ${keyword} (${timedOut || options.timeout === undefined ? 'reminder' : 'reminder or timeout'})`;
        if (await condition(() => done() || this.abortRequest !== undefined, slice, { summary })) {
          this.throwIfAborted();
          return;
        }
        const waited = Date.now() - started;
        if (options.timeout !== undefined && !timedOut && waited >= options.timeout) {
          timedOut = true;
          await options.onTimeout?.();
          continue;
        }
        const page: boolean = options.pageAfter !== undefined && !paged && waited >= options.pageAfter;
        paged ||= page;
        await this.acts.raiseAlert({
          code: options.alertCode,
          level: timedOut || page ? 'critical' : 'warning',
          message: `${page ? 'page' : 'reminder'}: ${this.status.procedure} ${this.workflowId} has waited ${formatDuration(waited)}: ${what}`,
          remind: true,
        });
      }
    } finally {
      this.setWaiting(undefined);
      await this.acts.resolveAlert({ code: options.alertCode, resolution: this.abortRequest ? 'procedure aborted' : 'done' });
    }
  }

  /**
   * Runs one step. When it still fails after its retries, raises an alert and waits for the
   * operator: retry, skip (if `skippable`), rollback (if `rollback`), abort. No decision within
   * decisionTimeout means abort, which every procedure turns into its safe state.
   * A step that cannot be skipped returns its value; a skippable one says whether it was skipped.
   */
  async step<T>(name: string, run: StepRun<T>, options: StepOptions & { skippable: true }): Promise<{ value?: T; skipped: boolean }>;
  async step<T>(name: string, run: StepRun<T>, options?: StepOptions & { skippable?: false }): Promise<T>;
  async step<T>(name: string, run: StepRun<T>, options: StepOptions = {}): Promise<T | { value?: T; skipped: boolean }> {
    for (let attempt = 1; ; attempt++) {
      this.throwIfAborted();
      this.status.step = name;
      try {
        const value = await this.abortable(() => run(attempt));
        this.status.step = undefined;
        this.hostUnserved = false;
        return options.skippable ? { value, skipped: false } : value;
      } catch (err) {
        this.status.step = undefined;
        if (!(err instanceof ActivityFailure)) throw err;
        const cause = err.cause instanceof ApplicationFailure ? err.cause : undefined;
        if (cause?.type && (FATAL_TYPES.has(cause.type) || options.fatal?.includes(cause.type))) throw cause;
        const allowed: Decision[] = ['retry', ...(options.skippable ? (['skip'] as const) : []), ...(options.rollback ? (['rollback'] as const) : []), 'abort'];
        this.hostUnserved = notTakenByAWorker(err);
        const error = this.hostUnserved ? unservedQueueMessage(this.context.hostQueue) : (cause ?? err.cause ?? err).message;
        this.status.failedStep = { step: name, error, errorType: cause?.type ?? undefined, allowed, since: iso(Date.now()) };
        this.status.state = 'failed-step';
        const code = `procedure-step-failed:${this.workflowId}`;
        const how = `send signal "decision" with {"decision": "${allowed.join('" | "')}"} or run: atlas-ops decide ${shellQuote(this.workflowId)} <${allowed.join('|')}>`;
        this.details(`Step **${name}** failed after its retries:\n\n> ${error}\n\nDecide: ${how}.\nWith no decision in ${formatDuration(this.decisionTimeout)} the procedure aborts to its safe state.`);
        this.setWaiting(`a decision on failed step ${name}: ${allowed.join(', ')}`, 'decision');
        // Alerts are host activities: with no worker on the host queue the status and the Web UI say it.
        if (!this.hostUnserved) await this.acts.raiseAlert({ code, level: 'critical', message: `${this.status.procedure} ${this.workflowId}: step ${name} failed: ${error}. ${how}` });
        const decided = await condition(() => this.pendingDecision !== undefined || this.abortRequest !== undefined, this.decisionTimeout, {
          summary: `${this.status.procedure}: decision on step "${name}" (timeout: abort)`,
        });
        const decision: Actor & { decision: Decision } = this.abortRequest
          ? { decision: 'abort', ...this.abortRequest }
          : decided
            ? this.pendingDecision!
            : { decision: 'abort', by: 'timeout', note: `no decision within ${formatDuration(this.decisionTimeout)}` };
        this.pendingDecision = undefined;
        this.status.failedStep = undefined;
        this.setWaiting(undefined);
        if (!this.hostUnserved) await this.acts.resolveAlert({ code, resolution: `operator decided ${decision.decision}` });
        await this.record(`step ${name}: decision ${decision.decision}${decision.note ? ` (${decision.note})` : ''}`, decision.by);
        if (decision.decision === 'retry') continue;
        if (decision.decision === 'skip') return { skipped: true };
        if (decision.decision === 'rollback') throw new RollbackRequested(decision);
        this.abortRequest ??= decision;
        throw new AbortRequested(this.abortRequest);
      }
    }
  }

  /**
   * Runs a step's activities so that abort ends the wait for them (the abort signal alone would be
   * seen only when they return, never for a queue no worker serves): the pending activity is
   * cancelled and the step throws a cancellation.
   */
  private async untilAbort<T>(run: () => Promise<T>): Promise<T> {
    const scope = new CancellationScope();
    let settled = false;
    const work = scope.run(run).finally(() => {
      settled = true;
    });
    void condition(() => settled || this.abortRequest !== undefined).then(() => {
      if (!settled) scope.cancel();
    });
    return work;
  }

  /**
   * A host activity that abort interrupts (see untilAbort), unless it runs for the abort itself.
   * An interrupted one that no worker had taken leaves nothing to undo on the host; whether the
   * host can still record the abort is asked from the workflow queue.
   */
  private async abortable<T>(run: () => Promise<T>): Promise<T> {
    if (this.abortRequest) return run();
    try {
      return await this.untilAbort(run);
    } catch (err) {
      if (!this.abortRequest || !isCancellation(err)) throw err;
      this.hostUnserved = !(await this.ctxActs.hostQueueServed({ queue: this.context.hostQueue }));
      throw new AbortRequested(this.abortRequest);
    }
  }

  finish(state: ProcedureState, details: string): void {
    const open = this.status.phases.at(-1);
    if (open && !open.endedAt) open.endedAt = iso(Date.now());
    this.status.state = state;
    this.status.phase = state;
    // What to do next when the host never took a step: nothing ran there after it.
    if (this.hostUnserved) details += `\n\nNothing was done on the host after the step no worker took: ${unservedQueueMessage(this.context.hostQueue)}, then start the procedure again.`;
    this.details(details);
    upsertSearchAttributes([{ key: ATLAS_PHASE, value: state }]);
  }

  /** Per-phase durations in ms, for the summary. */
  phaseDurations(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const p of this.status.phases) {
      if (p.endedAt) out[p.name] = (out[p.name] ?? 0) + (Date.parse(p.endedAt) - Date.parse(p.startedAt));
    }
    return out;
  }
}
