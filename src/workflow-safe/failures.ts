// The failure catalogue: every failure type an activity or a procedure ends with, spelled here and
// nowhere else. Workflows react to the type (a fatal step, a skipped option), the CLI and the
// Web UI show it, the run log records it; the message says what happened and what to do next.
// `failure.DatabaseCorrupt(message, { cause })` builds the ApplicationFailure of that type, retryable
// or not as its entry says. Pure, so that workflow code can import it.
import { ApplicationFailure, type Duration } from '@temporalio/common';

interface Entry {
  /** True when retrying the same call cannot help: Temporal fails the activity at once. */
  readonly nonRetryable: boolean;
}

// Each doc comment: what the failure means, then what the operator does next.
const CATALOGUE = {
  // --- Any procedure ---

  /** Input a procedure or activity refuses (a wrong field, a path that leaves its folder); nothing was changed. Fix the named field and start again. */
  InvalidInput: { nonRetryable: true },
  /** Another procedure holds atlas.db (the database lock). Finish or abort that procedure (`atlas-ops status <id>`), then start again. */
  ProcedureConflict: { nonRetryable: true },
  /** Sync or backup runs were still running when Pause gave up waiting. Wait for them (or terminate them in the Web UI) and start the procedure again. */
  DrainTimeout: { nonRetryable: true },
  /** A process atlas-ops would stop (sqlite-web) still runs and atlas-ops cannot prove it started it, so it sent no signal. The message names its pid and port: check it, stop it yourself, then retry the step. */
  UnprovenProcess: { nonRetryable: true },
  /** The worker serving the host queue serves another home or host than the procedure asked for; nothing was changed. Start a worker for that home (or host), or drop --home / hostQueue. */
  WrongTarget: { nonRetryable: true },
  /** A host command (logrotate, journalctl) exited non-zero; retried. Read its stderr in the message and fix the host, then retry the step. */
  CommandFailed: { nonRetryable: false },
  /** A host command was refused for a privilege the worker's user lacks (a polkit rule, a read-only path under the deployed unit); not retried. The message names the privilege and the deploy/ file that grants it: install that, then retry the step. */
  PrivilegeMissing: { nonRetryable: true },

  // --- atlas.db ---

  /** atlas.db is not a SQLite database or SQLite reports it corrupt; corruption recovery starts (or is alerted). Follow `atlas-ops recover corruption`. */
  DatabaseCorrupt: { nonRetryable: true },
  /** Any other SQLite failure (locked, I/O); retried. If it persists, diagnose with `atlas-ops doctor db`. */
  DatabaseError: { nonRetryable: false },
  /** The backup asked for is not in backups/; nothing was changed. Pick one from `atlas-ops db backups`. */
  BackupMissing: { nonRetryable: true },
  /** The backup is not a sound SQLite database; atlas.db was not changed. Choose another backup (`atlas-ops db backups`). */
  BackupInvalid: { nonRetryable: true },
  /**
   * The restored database failed its check after the swap (the replaced database is kept beside it),
   * or a restore procedure failed. Restore another backup, or put the kept file back by hand.
   */
  RestoreFailed: { nonRetryable: true },

  /**
   * Another process holds atlas.db (or its -wal/-shm) open, so the procedure did not replace it
   * (docs/safety.md#no-swap-under-a-live-writer). The message names each holder: stop it (or add its
   * unit to app.units), then start the procedure again; the staging file is kept.
   */
  DbHeld: { nonRetryable: true },

  // --- Procedures that end failed (the alert and the Web UI say which step) ---

  /** A backup procedure failed. Read the failed step; the schedule runs it again, or run `atlas-ops backup`. */
  BackupFailed: { nonRetryable: true },
  /** A maintenance procedure failed after its undo. Read the failed step, check atlas.db, and start maintenance again. */
  MaintenanceFailed: { nonRetryable: true },
  /** Corruption recovery could not make atlas.db sound; schedules stay paused. Restore by hand (`atlas-ops db restore`) or from an OCI volume backup. */
  RecoveryFailed: { nonRetryable: true },
  /** The disk emergency procedure failed. Free space by hand (the message says what was done) and check `atlas-ops health`. */
  DiskEmergencyFailed: { nonRetryable: true },
  /** The Sheets outage procedure failed. Check the Sheets connection (`atlas-ops doctor sheets`) and resume syncs by hand. */
  SheetsOutageFailed: { nonRetryable: true },

  // --- Google Sheets (src/sheets/client.ts turns API answers into these) ---

  /** A sync failed for a reason with no type of its own; retried. Read the message; `atlas-ops doctor sheets` checks the connection. */
  SyncError: { nonRetryable: false },
  /** The Sheets API refused the service-account key. Check or rotate it (`atlas-ops doctor sheets`). Counts toward an outage. */
  SheetsAuthError: { nonRetryable: true },
  /** The service account may not edit the spreadsheet. Share it as Editor (`atlas-ops doctor sheets --permissions`). Counts toward an outage. */
  SheetsPermissionError: { nonRetryable: true },
  /** The service-account key file is missing or not a key. Put a service-account JSON key in place (mode 0600). Counts toward an outage. */
  SheetsCredentialsError: { nonRetryable: true },
  /** The spreadsheet does not exist. Check sheets.spreadsheetId. */
  SheetsNotFoundError: { nonRetryable: true },
  /** The Sheets API rate-limited the request; retried after its Retry-After. Nothing to do unless it persists. Counts toward an outage. */
  SheetsRateLimited: { nonRetryable: false },
  /** The Sheets API is failing (5xx or a garbled answer); retried with backoff. Counts toward an outage. */
  SheetsUnavailable: { nonRetryable: false },
  /** The Sheets API did not answer or could not be reached; retried. Check connectivity (`atlas-ops doctor sheets`). Counts toward an outage. */
  SheetsUnreachable: { nonRetryable: false },
  /** The Sheets API refused a request as invalid. Check the spreadsheet's tabs and header rows (`atlas-ops doctor sheets --permissions`). */
  SheetsBadRequest: { nonRetryable: true },
  /** The spreadsheet's layout is not what the sync expects (headers, columns). Repair the sheet, or let `atlas-ops sync export` recreate it. */
  SheetsLayoutError: { nonRetryable: true },
  /** The spreadsheet has no approvals tab to import from. Run `atlas-ops sync export` to create it. */
  SheetsTabMissing: { nonRetryable: true },
  /** Sheets is not configured (no spreadsheet id). Set ATLAS_SHEETS_SPREADSHEET_ID. */
  SheetsConfigError: { nonRetryable: true },

  // --- Key rotation ---

  /** A key answer or key file that cannot be used: another service account's, the current key again, or no key material; no old key was deleted. Fix what it names (or retry for a fresh key). */
  KeyInvalid: { nonRetryable: true },
  /** The token endpoint refused the new key (a fresh key can take a minute to work at Google); retried. If it persists, abort: the old key stays installed. */
  KeyNotAccepted: { nonRetryable: false },
  /** The old key still obtains a token after its deletion (Google can take minutes); retried. If it persists, delete it by hand in the console. */
  KeyStillValid: { nonRetryable: false },
  /** IAM or OCI Identity refused a key call (401/403/404); nothing more was changed. Check the account's rights to manage its keys. */
  KeyApiRejected: { nonRetryable: true },
  /** IAM or OCI Identity failed or could not be reached; retried. */
  KeyApiUnavailable: { nonRetryable: false },

  // --- OCI Block Storage ---

  /** OCI is not configured (no volume id, endpoint or config file); nothing was changed. Configure ATLAS_OCI_* or skip the OCI step. */
  OciNotConfigured: { nonRetryable: true },
  /** OCI answered 404: the volume or backup does not exist; nothing was changed. Check the OCID (ATLAS_OCI_VOLUME_ID). */
  OciNotFound: { nonRetryable: true },
  /** OCI refused the request (400/401); nothing was changed. Check the OCI credentials and configuration. */
  OciRequestRejected: { nonRetryable: true },
  /** OCI failed or could not be reached; retried. If it persists, check OCI's status; the local backup is unaffected. */
  OciUnavailable: { nonRetryable: false },
  /** The OCI volume backup ended FAULTY or TERMINATED; the local backup is unaffected. Retry the step for a new volume backup, or skip it. */
  OciBackupFaulty: { nonRetryable: true },
  /** The volume restored from an OCI backup did not become AVAILABLE. Retry the step, or restore from another volume backup. */
  OciRestoreFailed: { nonRetryable: true },
  /** Option C will not swap the volume as found: an attachment for another instance than `oci.instanceId`, the volume still attached elsewhere, no device to attach at. Nothing was swapped; the message names the value. Fix the configuration or the attachment, then start again. */
  VolumeSwapRefused: { nonRetryable: true },
  /** A volume was not ATTACHED or DETACHED within `oci.attachTimeout`. The message says what is attached and mounted now and what to do next. */
  VolumeAttachTimeout: { nonRetryable: true },
} as const satisfies Record<string, Entry>;

export type FailureType = keyof typeof CATALOGUE;

export interface FailureOptions {
  cause?: Error;
  details?: unknown[];
  /** For a retryable failure: when to try again (a Retry-After). */
  nextRetryDelay?: Duration;
}

/** One failure type: call it to build the failure; `type` is its name, `is()` recognises it. */
export interface FailureKind<T extends FailureType> extends Entry {
  (message: string, options?: FailureOptions): ApplicationFailure;
  readonly type: T;
  /** True when `err` is an ApplicationFailure of this type. */
  is(err: unknown): err is ApplicationFailure;
}

function kind<T extends FailureType>(type: T): FailureKind<T> {
  const { nonRetryable } = CATALOGUE[type];
  const create = (message: string, options: FailureOptions = {}) => ApplicationFailure.create({ type, message, nonRetryable, ...options });
  return Object.assign(create, { type, nonRetryable, is: (err: unknown): err is ApplicationFailure => err instanceof ApplicationFailure && err.type === type });
}

/** Every failure type, by name. */
export const failure = Object.fromEntries(Object.keys(CATALOGUE).map((type) => [type, kind(type as FailureType)])) as {
  readonly [T in keyof typeof CATALOGUE]: FailureKind<T>;
};
