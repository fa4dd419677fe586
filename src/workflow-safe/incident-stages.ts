// The runbook's incident response stages, in order. Pure: workflow code and activities share it.
export const INCIDENT_STAGES = ['detect', 'assess', 'contain', 'investigate', 'remediate', 'recover', 'learn'] as const;
export type IncidentStage = (typeof INCIDENT_STAGES)[number];

/** The body of the `advance` signal: move to the next stage; the note says what the stage left behind found or did. */
export interface AdvanceInput {
  note?: string;
  by?: string;
  /** The stage the sender means to enter; a stale or repeated advance (another stage) is ignored. */
  stage?: IncidentStage;
}
