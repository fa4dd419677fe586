// Investigate's summaries of the procedures involved in an incident: which workflows (named by the
// detection alerts' codes, or active in the procedure log around the incident), and for each a
// bounded summary of its history fetched through the Temporal client. Only names, times, states and
// failure messages: no payload (inputs, results, signal bodies) is read, so no secret is copied.
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Db } from '../db/sqlite';
import type { IncidentAlert } from '../workflow-safe/incident-stages';

/** At most this many procedures, each summarised in at most HISTORY_LINES lines of at most LINE_MAX characters. */
export const PROCEDURES_MAX = 10;
export const HISTORY_LINES = 40;
const LINE_MAX = 200;
/** The head kept when a history has more lines than HISTORY_LINES (the rest are its newest). */
const HEAD_LINES = 5;

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];

export interface ProcedureHistory {
  workflowId: string;
  type?: string;
  status?: string;
  startedAt?: string;
  closedAt?: string;
  events?: number;
  /** `<time> <what>` per event that says something to a person, oldest first. */
  lines: string[];
  truncated?: boolean;
  error?: string;
}

/** A history event's time as ISO text. */
export function eventTimeIso(t: { seconds?: unknown; nanos?: number | null } | null | undefined): string {
  return new Date(Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6)).toISOString();
}

/**
 * The workflows involved: first those whose id an alert's code carries after its first ":"
 * (`procedure-step-failed:<id>`) and that the procedure log knows, then those with log entries since
 * `sinceIso`, newest first; never the incident itself.
 */
export function involvedWorkflows(ops: Db, detection: readonly IncidentAlert[], sinceIso: string, incidentId: string): string[] {
  const known = ops.prepare('SELECT 1 FROM procedure_log WHERE workflow_id = ? LIMIT 1').pluck();
  const named = detection
    .filter((a) => a.code.includes(':'))
    .map((a) => a.code.slice(a.code.indexOf(':') + 1))
    .filter((id) => known.get(id) !== undefined);
  const recent = ops
    .prepare('SELECT workflow_id FROM procedure_log WHERE at >= ? GROUP BY workflow_id ORDER BY max(at) DESC LIMIT ?')
    .pluck()
    .all(sinceIso, PROCEDURES_MAX + 1) as string[];
  return [...new Set([...named, ...recent])].filter((id) => id !== incidentId).slice(0, PROCEDURES_MAX);
}

/** What one event says to a person, or undefined for the bookkeeping ones (tasks, timers, markers). */
function describeEvent(e: HistoryEvent): string | undefined {
  const failure = (f: { message?: string | null } | null | undefined) => (f?.message ? `: ${f.message}` : '');
  if (e.workflowExecutionStartedEventAttributes) return `started ${e.workflowExecutionStartedEventAttributes.workflowType?.name ?? ''}`;
  if (e.activityTaskScheduledEventAttributes) return `activity ${e.activityTaskScheduledEventAttributes.activityType?.name ?? ''}`;
  if (e.activityTaskFailedEventAttributes) return `activity failed${failure(e.activityTaskFailedEventAttributes.failure)}`;
  if (e.activityTaskTimedOutEventAttributes) return `activity timed out${failure(e.activityTaskTimedOutEventAttributes.failure)}`;
  if (e.workflowExecutionSignaledEventAttributes) return `signal ${e.workflowExecutionSignaledEventAttributes.signalName ?? ''}`;
  if (e.workflowExecutionUpdateAcceptedEventAttributes) return `update ${e.workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest?.input?.name ?? ''}`;
  if (e.workflowExecutionCompletedEventAttributes) return 'completed';
  if (e.workflowExecutionFailedEventAttributes) return `failed${failure(e.workflowExecutionFailedEventAttributes.failure)}`;
  if (e.workflowExecutionTerminatedEventAttributes) return `terminated${e.workflowExecutionTerminatedEventAttributes.reason ? `: ${e.workflowExecutionTerminatedEventAttributes.reason}` : ''}`;
  if (e.workflowExecutionCanceledEventAttributes) return 'cancelled';
  if (e.workflowExecutionTimedOutEventAttributes) return 'timed out';
  if (e.workflowExecutionContinuedAsNewEventAttributes) return 'continued as new';
  return undefined;
}

/** The summary of one workflow's history; a workflow Temporal does not know is said so, not thrown. */
export async function procedureHistory(client: Client, workflowId: string): Promise<ProcedureHistory> {
  const handle = client.workflow.getHandle(workflowId);
  let description;
  let history: History;
  try {
    description = await handle.describe();
    history = await handle.fetchHistory();
  } catch (err) {
    return { workflowId, lines: [], error: (err as Error).message.slice(0, LINE_MAX) };
  }
  const all: string[] = [];
  for (const e of history.events ?? []) {
    const what = describeEvent(e);
    if (what) all.push(`${eventTimeIso(e.eventTime)} ${what}`.slice(0, LINE_MAX));
  }
  const truncated = all.length > HISTORY_LINES;
  const lines = truncated ? [...all.slice(0, HEAD_LINES), `… ${all.length - HISTORY_LINES} lines left out …`, ...all.slice(-(HISTORY_LINES - HEAD_LINES))] : all;
  return {
    workflowId,
    type: description.type,
    status: description.status.name,
    startedAt: description.startTime.toISOString(),
    closedAt: description.closeTime?.toISOString(),
    events: history.events?.length ?? 0,
    lines,
    truncated,
  };
}
