// The bounds of operator input (docs/operator-contract.md#bounds), in one place for the CLI, the
// workflow input tables and the signals: a text as long as a book or a reminder every millisecond
// fills the workflow's history (Temporal terminates it at about 2 MB or 51 200 events), and copies
// of the text land in the maintenance flag, the logs and the manifests. Pure, so workflows import it.
import { formatDuration } from './duration';

/** Free text: reasons, notes, summaries (characters; 4 KB of ASCII). */
export const TEXT_MAX = 4096;
/** Names and ids: who, which host queue, which file, which schedule, what triggered it. */
export const NAME_MAX = 256;
/** Lists (schedule names, poll intervals). */
export const LIST_MAX = 64;

/**
 * The shortest duration each setting takes. One second keeps a procedure to at most one timer and
 * one alert a second while a person is awaited; the tests of reminders and timeouts run at it.
 */
export const DURATION_MIN = {
  reminderInterval: 1000,
  decisionTimeout: 1000,
  editTimeout: 1000,
  drainTimeout: 1000,
  pollInterval: 1000,
  timeout: 1000,
  hostQueueTimeout: 1000,
  /** A step's start-to-close and a long step's heartbeat timeout: long enough for a slow host's short step. */
  stepTimeout: 5000,
  heartbeatTimeout: 5000,
  /** An incident stage's page and timeout (the incident tests run at seconds). */
  stageTimeout: 1000,
  pageAfter: 1000,
  /**
   * How long a critical alert stays unresolved before it opens an incident: at least a minute, so
   * the remediation the same health check started has a chance to resolve it first.
   */
  incidentAfter: 60_000,
} as const;

/** Why `value` is too long for `max`, or undefined. The text itself is never repeated (it may be huge). */
export function lengthProblem(value: string, max: number): string | undefined {
  return value.length > max ? `is ${value.length} characters long, over the cap of ${max}` : undefined;
}

/** `value` cut to `max` characters, saying so: what goes further (status, history, files) stays bounded. */
export function cutText(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, max)}… (cut: ${value.length} characters, cap ${max})` : value;
}

/** Why `ms` is too short for `min`, or undefined. */
export function minimumProblem(ms: number, min: number): string | undefined {
  return ms < min ? `${formatDuration(ms)} is below the minimum of ${formatDuration(min)}` : undefined;
}

/**
 * Start-to-close of the workflow queue's own activities (procedureContext, hostQueueServed): they
 * answer in milliseconds, so a task the server lost on a loaded machine is retried after 10 s,
 * not after the 30 s of a host step, while the procedure cannot yet answer its status query.
 */
export const WORKFLOW_QUEUE_STEP_TIMEOUT = '10s';
