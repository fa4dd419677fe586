// What a Sheets failure can be, apart from the client (which loads googleapis, most of a second),
// so that code that only reads recorded failures — the run log, the CLI — starts fast.

/** Failure types; the outage detector counts the ones in OUTAGE_TYPES. */
export type SheetsErrorType =
  | 'SheetsAuthError'
  | 'SheetsPermissionError'
  | 'SheetsCredentialsError'
  | 'SheetsNotFoundError'
  | 'SheetsRateLimited'
  | 'SheetsUnavailable'
  | 'SheetsUnreachable'
  | 'SheetsBadRequest'
  | 'SheetsLayoutError'
  | 'SheetsTabMissing'
  | 'SheetsConfigError';

export const RETRYABLE_TYPES: readonly SheetsErrorType[] = ['SheetsRateLimited', 'SheetsUnavailable', 'SheetsUnreachable'];
/** Auth and connectivity: three of these in a row (or an hour without success) mean an outage. */
export const OUTAGE_TYPES: readonly SheetsErrorType[] = ['SheetsAuthError', 'SheetsPermissionError', 'SheetsCredentialsError', 'SheetsUnavailable', 'SheetsUnreachable', 'SheetsRateLimited'];
