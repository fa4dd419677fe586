// Custom search attributes every procedure keeps current, so the Web UI's list can filter
// "all running maintenance" or "procedures waiting for a person". Registered by `atlas-ops dev`
// (and checked by the worker at start); the names are defined here only.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const ATLAS_PROCEDURE = defineSearchAttributeKey('AtlasProcedure', SearchAttributeType.KEYWORD);
export const ATLAS_PHASE = defineSearchAttributeKey('AtlasPhase', SearchAttributeType.KEYWORD);
export const ATLAS_HOST = defineSearchAttributeKey('AtlasHost', SearchAttributeType.KEYWORD);
/** What the procedure waits for from a person ("edits", "decision", …); absent when it waits for nobody. */
export const ATLAS_WAITING_FOR = defineSearchAttributeKey('AtlasWaitingFor', SearchAttributeType.KEYWORD);

export const ATLAS_SEARCH_ATTRIBUTES = [ATLAS_PROCEDURE, ATLAS_PHASE, ATLAS_HOST, ATLAS_WAITING_FOR] as const;
