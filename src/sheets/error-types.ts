// What a Sheets failure can be, apart from the client (which loads googleapis' Sheets module to build
// one), so that code that only reads recorded failures — the run log, the CLI — starts fast. What each
// type means, and whether it is retried, is in the failure catalogue.
import { failure } from '../workflow-safe/failures';

const { SheetsAuthError, SheetsPermissionError, SheetsCredentialsError, SheetsNotFoundError, SheetsRateLimited, SheetsUnavailable, SheetsUnreachable, SheetsBadRequest, SheetsLayoutError, SheetsTabMissing, SheetsConfigError } = failure;

/** The failure types a Sheets call ends with; the outage detector counts the ones in OUTAGE_TYPES. */
export const SHEETS_ERROR_TYPES = [
  SheetsAuthError.type, SheetsPermissionError.type, SheetsCredentialsError.type, SheetsNotFoundError.type, SheetsRateLimited.type, SheetsUnavailable.type,
  SheetsUnreachable.type, SheetsBadRequest.type, SheetsLayoutError.type, SheetsTabMissing.type, SheetsConfigError.type,
] as const;
export type SheetsErrorType = (typeof SHEETS_ERROR_TYPES)[number];

/** Auth and connectivity: three of these in a row (or an hour without success) mean an outage. */
export const OUTAGE_TYPES: readonly SheetsErrorType[] = [SheetsAuthError.type, SheetsPermissionError.type, SheetsCredentialsError.type, SheetsUnavailable.type, SheetsUnreachable.type, SheetsRateLimited.type];
