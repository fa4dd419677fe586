// The runbook's incident response stages, in order, and the alerts that are an incident's detection
// evidence. Pure: workflow code and activities share it.
import { NAME_MAX, TEXT_MAX, cutText } from './limits';

export const INCIDENT_STAGES = ['detect', 'assess', 'contain', 'investigate', 'remediate', 'recover', 'learn'] as const;
export type IncidentStage = (typeof INCIDENT_STAGES)[number];

/** The body of the `advance` signal: move to the next stage; the note says what the stage left behind found or did. */
export interface AdvanceInput {
  note?: string;
  by?: string;
  /** The stage the sender means to enter; a stale or repeated advance (another stage) is ignored. */
  stage?: IncidentStage;
}

/**
 * A critical alert as an incident's detection evidence (the `alert` signal, the result's `detection`):
 * its ops.db row id (an alert joins an incident once), code, level, message and when it was first raised.
 */
export interface IncidentAlert {
  id: number;
  code: string;
  level: string;
  message: string;
  raisedAt: string;
}

/** Alerts an incident raises about itself (its waits, pages and timeout): never the detection of another incident. */
export const INCIDENT_OWN_ALERT_PREFIX = 'incident';

/**
 * The alert a signal carries, its text cut to the caps, or undefined when it is not one (a hand-typed
 * signal from the Web UI): the same shape whoever sent it, bounded before it goes further.
 */
export function incidentAlert(sent: unknown): IncidentAlert | undefined {
  if (!sent || typeof sent !== 'object') return undefined;
  const a = sent as Record<string, unknown>;
  const text = (k: string) => (typeof a[k] === 'string' ? (a[k] as string) : undefined);
  const [code, level, message, raisedAt] = [text('code'), text('level'), text('message'), text('raisedAt')];
  if (typeof a.id !== 'number' || !Number.isInteger(a.id) || !code || !level || message === undefined || !raisedAt) return undefined;
  return { id: a.id, code: cutText(code, NAME_MAX), level: cutText(level, NAME_MAX), message: cutText(message, TEXT_MAX), raisedAt: cutText(raisedAt, NAME_MAX) };
}
