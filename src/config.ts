// Configuration: defaults, then ATLAS_HOME/config/atlas-ops.json (or --config), then environment.
// Every setting is one row of CONFIG_FIELDS: its key in the JSON file, its environment variable,
// its type, default and meaning. Loading, validation and the README's reference all read that table.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDuration } from './workflow-safe/duration';
import { failure } from './workflow-safe/failures';
import { DURATION_MIN, minimumProblem } from './workflow-safe/limits';
import { parseAllowlist } from './access-allowlist';
import { parseKeySources, type KeySource } from './ssh-keys';
import { DEPLOYED_STATE_DIR } from './deployed-privileges';

type FieldType = 'string' | 'path' | 'keySources' | 'url' | 'int' | 'duration' | 'schedule' | 'percent' | 'number' | 'enum' | 'units' | 'allowlist';

interface FieldSpec {
  key: string;
  env?: string;
  type: FieldType;
  default?: string | number;
  values?: readonly string[];
  min?: number;
  /** A duration that also accepts `off`: the behaviour it times is switched off (the value is then 'off'). */
  off?: true;
  doc: string;
}

export const CONFIG_FIELDS: readonly FieldSpec[] = [
  { key: 'home', env: 'ATLAS_HOME', type: 'path', default: '/opt/atlas', doc: 'The Atlas home: data/, backups/, logs/, config/, reports/.' },
  { key: 'host', env: 'ATLAS_HOST', type: 'string', default: os.hostname(), doc: 'Name of this host; host activities run on the task queue `<taskQueue>@<host>`.' },
  { key: 'temporal.address', env: 'TEMPORAL_ADDRESS', type: 'string', default: '127.0.0.1:7233', doc: 'Temporal frontend (host:port).' },
  { key: 'temporal.namespace', env: 'TEMPORAL_NAMESPACE', type: 'string', default: 'default', doc: 'Temporal namespace.' },
  { key: 'temporal.uiUrl', env: 'ATLAS_TEMPORAL_UI_URL', type: 'url', default: 'http://127.0.0.1:8233', doc: 'Base URL of the Temporal Web UI, for the links the CLI prints.' },
  { key: 'temporal.tls', env: 'ATLAS_TEMPORAL_TLS', type: 'enum', values: ['auto', 'on', 'off'], default: 'auto', doc: 'TLS to the Temporal frontend: `auto` = on when a certificate, CA or API key is configured.' },
  { key: 'temporal.tlsCert', env: 'TEMPORAL_TLS_CLIENT_CERT_PATH', type: 'path', default: '', doc: 'Client certificate (PEM) for mTLS, e.g. Temporal Cloud; relative paths are under the home.' },
  { key: 'temporal.tlsKey', env: 'TEMPORAL_TLS_CLIENT_KEY_PATH', type: 'path', default: '', doc: 'Private key (PEM) of the client certificate; read from the file, never logged.' },
  { key: 'temporal.tlsCa', env: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH', type: 'path', default: '', doc: 'CA certificate (PEM) of a self-hosted server; default: the system\'s trusted CAs.' },
  { key: 'temporal.tlsServerName', env: 'TEMPORAL_TLS_SERVER_NAME', type: 'string', default: '', doc: 'TLS server name (SNI) when it differs from the address host.' },
  { key: 'temporal.apiKeyFile', env: 'ATLAS_TEMPORAL_API_KEY_FILE', type: 'path', default: '', doc: 'File holding a Temporal Cloud API key (mode 0600); the key is read from it, never from config or logs.' },
  { key: 'taskQueue', env: 'ATLAS_TASK_QUEUE', type: 'string', default: 'atlas-ops', doc: 'Task queue of the workflows.' },
  { key: 'scheduleIdPrefix', env: 'ATLAS_SCHEDULE_PREFIX', type: 'string', default: 'atlas-', doc: 'Prefix of the schedule ids (`atlas-export`, …); lets several Atlas hosts share a namespace.' },
  { key: 'schedules.export', env: 'ATLAS_SCHEDULE_EXPORT', type: 'schedule', default: 'every 5m', doc: 'When `sheetsExport` runs: `every <duration>`, a cron expression, or `off`.' },
  { key: 'schedules.import', env: 'ATLAS_SCHEDULE_IMPORT', type: 'schedule', default: 'every 5m', doc: 'When `sheetsImport` runs.' },
  { key: 'schedules.backup', env: 'ATLAS_SCHEDULE_BACKUP', type: 'schedule', default: '0 2 * * *', doc: 'When `backup` runs (daily 02:00).' },
  { key: 'schedules.health', env: 'ATLAS_SCHEDULE_HEALTH', type: 'schedule', default: 'every 15m', doc: 'When `healthCheck` runs.' },
  { key: 'schedules.weekly', env: 'ATLAS_SCHEDULE_WEEKLY', type: 'schedule', default: '0 9 * * 1', doc: 'When `weeklyRoutine` runs (Monday 09:00).' },
  { key: 'schedules.monthly', env: 'ATLAS_SCHEDULE_MONTHLY', type: 'schedule', default: '0 9 1-7 * 5', doc: 'When `monthlyRoutine` runs (first Friday 09:00: Temporal matches day-of-month AND day-of-week).' },
  { key: 'schedules.keyRotation', env: 'ATLAS_SCHEDULE_KEY_ROTATION', type: 'schedule', default: '0 9 1 1,4,7,10 *', doc: 'When `keyRotation` runs (quarterly).' },
  { key: 'schedules.ociBackup', env: 'ATLAS_SCHEDULE_OCI_BACKUP', type: 'schedule', default: '0 3 * * 0', doc: 'When `ociBackup` takes an OCI block-volume backup and applies `oci.keepBackups` (weekly, Sunday 03:00); only applied when `oci.volumeId` is set.' },
  { key: 'schedules.alertsDigest', env: 'ATLAS_SCHEDULE_ALERTS_DIGEST', type: 'schedule', default: '0 9 * * 1-5', doc: 'When `alertsDigest` sends the daily digest of warnings (business days, Monday to Friday 09:00: the runbook\'s warnings wait for the next business day).' },
  { key: 'schedules.timezone', env: 'ATLAS_SCHEDULE_TIMEZONE', type: 'string', default: 'UTC', doc: 'Time zone of the cron schedules (IANA name).' },
  { key: 'backup.keep', env: 'ATLAS_BACKUP_KEEP', type: 'int', default: 7, min: 1, doc: 'How many verified local backups retention keeps.' },
  { key: 'recovery.onCorruption', env: 'ATLAS_ON_CORRUPTION', type: 'enum', default: 'auto', values: ['auto', 'alert-only'], doc: 'When an activity meets SQLITE_CORRUPT or SQLITE_NOTADB: start `corruptionRecovery` at once (`auto`) or only raise a critical alert (`alert-only`).' },
  { key: 'access.allowlist', env: 'ATLAS_ACCESS_ALLOWLIST', type: 'allowlist', default: '', doc: 'Who is expected to have access (comma-separated, or a JSON list in the file): `ssh:SHA256:<fingerprint>`, `sheet:<email>`, `sheet:<domain>`, `sheet:anyone`. The access review reports as a finding any entry new since the previous review that is not listed here.' },
  { key: 'access.sshKeySources', env: 'ATLAS_ACCESS_SSH_KEY_SOURCES', type: 'keySources', default: '', doc: 'The authorized_keys files of this host\'s SSH users: `/absolute/path` or `user:/absolute/path` entries (comma-separated, or a JSON list in the file). The access review lists their keys (a file that cannot be read is a finding) and key rotation checks that the new SSH key is in every one and the old one gone (the user, when given, names the file in its messages). Empty: SSH keys are not reviewed (the review says so) and not part of key rotation. Files the worker\'s user can read: the unit hides /root and /home (docs/safety.md#the-worker-as-deployed).' },
  { key: 'app.units', env: 'ATLAS_APP_UNITS', type: 'units', default: 'atlas-agent.service', doc: 'systemd units of the Atlas app (comma-separated, or a JSON list in the file; empty: none). Stopped before any procedure replaces atlas.db and started again afterwards; only the units that were active are stopped.' },
  { key: 'swap.pollInterval', env: 'ATLAS_SWAP_POLL_INTERVAL', type: 'duration', default: '5s', doc: 'While another process holds atlas.db open, how often a procedure about to replace it looks again (docs/safety.md#no-swap-under-a-live-writer).' },
  { key: 'swap.pageAfter', env: 'ATLAS_SWAP_PAGE_AFTER', type: 'duration', default: '5m', doc: 'How long a procedure waits for the holders of atlas.db to close it before a critical alert (page).' },
  { key: 'swap.timeout', env: 'ATLAS_SWAP_TIMEOUT', type: 'duration', default: '1h', doc: 'How long it waits for them at most: then it ends in its safe state, atlas.db not replaced, the staging file kept.' },
  { key: 'recovery.pageAfter', env: 'ATLAS_RECOVERY_PAGE_AFTER', type: 'duration', default: '15m', doc: 'How long corruption recovery waits for a person (an approval, a volume swap) before a critical alert (page).' },
  { key: 'recovery.personTimeout', env: 'ATLAS_RECOVERY_PERSON_TIMEOUT', type: 'duration', default: '24h', doc: 'How long corruption recovery waits for a person at most: then it ends failed in its safe state (schedules that touch atlas.db paused, the critical alert open).' },
  { key: 'diskEmergency.keepBackups', env: 'ATLAS_DISK_EMERGENCY_KEEP', type: 'int', default: 3, min: 1, doc: 'How many verified backups the disk emergency keeps when it prunes (the runbook keeps 3).' },
  { key: 'diskEmergency.logrotateConfig', env: 'ATLAS_LOGROTATE_CONFIG', type: 'path', default: 'config/logrotate.conf', doc: 'logrotate configuration of the Atlas logs (relative paths are under the home; deploy/logrotate/atlas-ops.conf); run as the worker\'s user with its own state file `<home>/run/logrotate.state`. When it or logrotate is missing, atlas-ops rotates its own logs.' },
  { key: 'diskEmergency.journalVacuumUnit', env: 'ATLAS_JOURNAL_VACUUM_UNIT', type: 'string', default: '', doc: 'systemd unit that vacuums the journal as root (deploy/systemd/atlas-ops-journal-vacuum.service), started with `systemctl start` by a worker that may not run `journalctl --vacuum-time` itself (the deployed unit sets it; docs/safety.md#the-worker-as-deployed). Empty: `journalctl --vacuum-time=1d` directly.' },
  { key: 'maintenance.editTimeout', env: 'ATLAS_EDIT_TIMEOUT', type: 'duration', default: '4h', min: DURATION_MIN.editTimeout, doc: 'How long a maintenance edit may take before a critical alert (it keeps waiting).' },
  { key: 'maintenance.reminderInterval', env: 'ATLAS_REMINDER_INTERVAL', type: 'duration', default: '30m', min: DURATION_MIN.reminderInterval, doc: 'Interval of the reminder alerts while a procedure waits for a person.' },
  { key: 'maintenance.drainTimeout', env: 'ATLAS_DRAIN_TIMEOUT', type: 'duration', default: '10m', min: DURATION_MIN.drainTimeout, doc: 'How long Pause waits for running sync and backup runs to finish.' },
  { key: 'maintenance.decisionTimeout', env: 'ATLAS_DECISION_TIMEOUT', type: 'duration', default: '24h', min: DURATION_MIN.decisionTimeout, doc: 'How long a failed step waits for the operator\'s decision before its timeout outcome.' },
  { key: 'maintenance.hostQueueTimeout', env: 'ATLAS_HOST_QUEUE_TIMEOUT', type: 'duration', default: '2m', min: DURATION_MIN.hostQueueTimeout, doc: 'How long a procedure\'s host step waits for a worker to take it from `<taskQueue>@<host>`; then the step fails into the operator\'s decision, naming the queue.' },
  { key: 'maintenance.stepTimeout', env: 'ATLAS_STEP_TIMEOUT', type: 'duration', default: '30s', min: DURATION_MIN.stepTimeout, doc: 'How long a short host step (a check, a flag, an alert) may run; past it Temporal takes its worker for lost and runs the step again (every step is idempotent). The fault suite shortens it so a SIGKILLed worker costs less waiting.' },
  { key: 'maintenance.heartbeatTimeout', env: 'ATLAS_HEARTBEAT_TIMEOUT', type: 'duration', default: '30s', min: DURATION_MIN.heartbeatTimeout, doc: 'How long a long host step (a snapshot, a restore) may go without a heartbeat (sent every 2 s) before Temporal takes its worker for lost and runs it again.' },
  { key: 'sqliteWeb.port', env: 'ATLAS_SQLITE_WEB_PORT', type: 'int', default: 8002, min: 1, doc: 'Port of sqlite-web during maintenance (always bound to 127.0.0.1).' },
  { key: 'sheets.rootUrl', env: 'ATLAS_SHEETS_ROOT_URL', type: 'url', default: 'https://sheets.googleapis.com/', doc: 'Sheets API endpoint; a loopback URL means the local emulator, without auth. The emulator also serves the IAM key endpoints and the token endpoint key rotation uses; otherwise IAM is Google\'s.' },
  { key: 'sheets.spreadsheetId', env: 'ATLAS_SHEETS_SPREADSHEET_ID', type: 'string', default: '', doc: 'The approvals spreadsheet.' },
  { key: 'sheets.emulatorPort', env: 'ATLAS_SHEETS_EMULATOR_PORT', type: 'int', default: 0, min: 0, doc: 'Port of the Sheets API emulator `atlas-ops dev` starts on 127.0.0.1 when no real endpoint is configured (0: one picked below the ephemeral port range, docs/testing.md#ports).' },
  { key: 'sheets.requestTimeout', env: 'ATLAS_SHEETS_TIMEOUT', type: 'duration', default: '60s', doc: `How long one Sheets API request may take; one without an answer by then fails as \`${failure.SheetsUnreachable.type}\` and its run is retried.` },
  { key: 'sheets.credentials', env: 'ATLAS_SHEETS_CREDENTIALS', type: 'path', default: '', doc: 'Service-account key file (mode 0600); default `<home>/config/sheets-credentials.json` when present.' },
  { key: 'oci.userId', env: 'ATLAS_OCI_USER_ID', type: 'string', default: '', doc: 'OCID of the OCI user whose API key key rotation replaces (oci-identity uploadApiKey, then deleteApiKey of the old one; the key file and fingerprint in the OCI config file are updated); empty: OCI API keys are not rotated.' },
  { key: 'oci.endpoint', env: 'ATLAS_OCI_ENDPOINT', type: 'url', default: '', doc: 'Block Storage endpoint; a loopback URL means the local emulator, unsigned.' },
  { key: 'oci.volumeId', env: 'ATLAS_OCI_VOLUME_ID', type: 'string', default: '', doc: 'OCID of the block volume that holds the Atlas home.' },
  { key: 'oci.configFile', env: 'ATLAS_OCI_CONFIG', type: 'path', default: '', doc: 'OCI CLI config file; default `<home>/config/oci/config`, else instance principal.' },
  { key: 'oci.keepBackups', env: 'ATLAS_OCI_KEEP_BACKUPS', type: 'int', default: 4, min: 1, doc: 'How many AVAILABLE OCI volume backups made by atlas-ops retention keeps (never the newest, never one a running procedure names).' },
  { key: 'oci.instanceId', env: 'ATLAS_OCI_INSTANCE_ID', type: 'string', default: '', doc: 'OCID of the instance the data volume (`oci.volumeId`) is attached to. Set: Option C of corruption recovery detaches it, attaches the restored volume and mounts it itself (docs/procedures.md#option-c-the-volume-swap). Empty: a person swaps the volume and signals `attachmentSwapped`.' },
  { key: 'oci.mountPoint', env: 'ATLAS_OCI_MOUNT_POINT', type: 'path', default: '', doc: 'Where the data volume is mounted (it must hold `data/atlas.db`); default the Atlas home. Option C unmounts it and mounts the restored volume there.' },
  { key: 'oci.device', env: 'ATLAS_OCI_DEVICE', type: 'string', default: '', doc: 'Consistent device path the restored volume is attached at (e.g. `/dev/oracleoci/oraclevdb`); default the data volume\'s current attachment\'s. Its file system UUID (`lsblk`) is what Option C mounts.' },
  { key: 'oci.swapStashDir', env: 'ATLAS_OCI_SWAP_STASH', type: 'path', default: `${DEPLOYED_STATE_DIR}/volume-swap`, doc: 'Outside the mount point, on a disk that outlives a worker restart: where Option C keeps what atlas-ops owns on the data volume (everything but atlas.db) during the swap, and copies it back onto the restored volume. The deployed worker unit makes /var/lib/atlas-ops its own (`StateDirectory=atlas-ops`), writable under its read-only system (docs/safety.md#the-worker-as-deployed).' },
  { key: 'oci.mountUnit', env: 'ATLAS_OCI_MOUNT_UNIT', type: 'string', default: '', doc: 'Template unit that mounts the restored volume as root, its instance the file system UUID (deploy/systemd/atlas-ops-volume-mount@.service), started with `systemctl start` by a worker that may not run `mount` itself (the deployed unit sets it; docs/safety.md#the-worker-as-deployed). Set together with `oci.umountUnit`. Empty: `mount UUID=<uuid> <mount point>` directly.' },
  { key: 'oci.umountUnit', env: 'ATLAS_OCI_UMOUNT_UNIT', type: 'string', default: '', doc: 'Unit that unmounts the data volume as root (deploy/systemd/atlas-ops-volume-umount.service), started likewise. Empty: `umount <mount point>` directly.' },
  { key: 'oci.attachPageAfter', env: 'ATLAS_OCI_ATTACH_PAGE_AFTER', type: 'duration', default: '5m', doc: 'How long Option C waits for a volume to be ATTACHED or DETACHED before a critical alert (page).' },
  { key: 'oci.attachTimeout', env: 'ATLAS_OCI_ATTACH_TIMEOUT', type: 'duration', default: '30m', doc: 'How long it waits at most: then corruption recovery ends failed, saying what is attached and mounted and what to do next.' },
  { key: 'oci.pollInterval', env: 'ATLAS_OCI_POLL_INTERVAL', type: 'duration', default: '15s', doc: 'How often a volume backup or restored volume is polled until AVAILABLE.' },
  { key: 'replica.endpoint', env: 'ATLAS_REPLICA_ENDPOINT', type: 'url', default: '', doc: 'S3-compatible endpoint of the continuous replica of atlas.db (OCI: `https://<namespace>.compat.objectstorage.<region>.oraclecloud.com`; path-style). Empty: replication not configured; `atlas-ops dev` starts a local S3 server (docs/safety.md#continuous-replica).' },
  { key: 'replica.bucket', env: 'ATLAS_REPLICA_BUCKET', type: 'string', default: '', doc: 'Bucket of the replica (3–63 lower-case letters, digits, `.` and `-`).' },
  { key: 'replica.path', env: 'ATLAS_REPLICA_PATH', type: 'string', default: 'atlas', doc: 'Key prefix of the replica inside the bucket.' },
  { key: 'replica.region', env: 'ATLAS_REPLICA_REGION', type: 'string', default: 'us-east-1', doc: 'Region of the bucket (OCI: the region id, e.g. `eu-frankfurt-1`).' },
  { key: 'replica.credentialsFile', env: 'ATLAS_REPLICA_CREDENTIALS', type: 'path', default: 'config/replica-credentials.json', doc: 'File under `<home>/config/` holding `{"accessKeyId": …, "secretAccessKey": …}` (OCI: a Customer Secret Key), mode 0600; the keys are read from it and handed to Litestream in its environment, never written to config, history, logs or reports.' },
  { key: 'replica.caBundle', env: 'ATLAS_REPLICA_CA_BUNDLE', type: 'path', default: '', doc: 'CA bundle (PEM) for a replica endpoint with a private CA; empty: the system CAs (the inherited AWS_CA_BUNDLE is not passed on, docs/safety.md#continuous-replica).' },
  { key: 'replica.syncInterval', env: 'ATLAS_REPLICA_SYNC_INTERVAL', type: 'duration', default: '1s', doc: 'How often Litestream ships new WAL pages to the replica: the loss window of the replica.' },
  { key: 'replica.retention', env: 'ATLAS_REPLICA_RETENTION', type: 'duration', default: '72h', doc: 'How far back the replica keeps snapshots: the oldest point a point-in-time restore can reach.' },
  { key: 'replica.unit', env: 'ATLAS_REPLICA_UNIT', type: 'string', default: 'atlas-ops-replicator.service', doc: 'systemd unit of the replicator (deploy/systemd/), stopped and started around checkpoints and swaps of atlas.db; under `atlas-ops dev` the in-process replicator instead.' },
  { key: 'replica.devServerPort', env: 'ATLAS_REPLICA_DEV_PORT', type: 'int', default: 0, min: 0, doc: 'Port of the local S3 server `atlas-ops dev` starts on 127.0.0.1 when no replica endpoint is configured (0: one picked below the ephemeral port range, docs/testing.md#ports).' },
  { key: 'alerts.webhookUrl', env: 'ATLAS_ALERT_WEBHOOK_URL', type: 'url', default: '', doc: 'Slack-compatible webhook for alerts (optional).' },
  { key: 'alerts.webhookAttempts', env: 'ATLAS_ALERT_WEBHOOK_ATTEMPTS', type: 'int', default: 5, min: 1, doc: 'Attempts per webhook message before it is left for the next run (the alert stays in ops.db).' },
  { key: 'alerts.webhookBackoff', env: 'ATLAS_ALERT_WEBHOOK_BACKOFF', type: 'duration', default: '1s', doc: 'Wait before the first webhook retry; doubles on each retry (at most 30 s).' },
  { key: 'alerts.incidentAfter', env: 'ATLAS_INCIDENT_AFTER', type: 'duration', off: true, default: '15m', min: DURATION_MIN.incidentAfter, doc: 'A critical alert still unresolved this long after it was first raised opens `incidentResponse` (singleton `incident`), or joins the open one, as its detection evidence; checked by every health check (at least 1m). `off`: alerts open no incident (they still page; incidents are opened with `atlas-ops incident start`), and the health check says so.' },
  { key: 'incident.pageAfter', env: 'ATLAS_INCIDENT_PAGE_AFTER', type: 'duration', default: '30m', min: DURATION_MIN.pageAfter, doc: 'How long an incident stage waits for `advance` before a critical alert (page); reminders every `maintenance.reminderInterval` before it.' },
  { key: 'incident.stageTimeout', env: 'ATLAS_INCIDENT_STAGE_TIMEOUT', type: 'duration', default: '24h', min: DURATION_MIN.stageTimeout, doc: 'How long an incident stage waits for `advance` at most: then the incident ends `timed-out` in its safe state (what contain paused stays paused), with a postmortem skeleton and a critical alert saying what to do next.' },
  { key: 'remediation.diskEmergency', env: 'ATLAS_REMEDIATION_DISK', type: 'string', default: 'diskEmergency', doc: 'Workflow type a critical disk alert starts (singleton `disk-emergency`); empty: none.' },
  { key: 'remediation.corruption', env: 'ATLAS_REMEDIATION_CORRUPTION', type: 'string', default: 'corruptionRecovery', doc: 'Workflow type a failed quick_check starts (singleton `corruption-recovery`); empty: none.' },
  { key: 'remediation.syncOffline', env: 'ATLAS_REMEDIATION_SYNC_OFFLINE', type: 'string', default: 'sheetsOutage', doc: 'Workflow type "sync offline" starts (singleton `sheets-outage`); empty: none.' },
  { key: 'monitoring.probeTimeout', env: 'ATLAS_PROBE_TIMEOUT', type: 'duration', default: '3s', doc: 'Timeout of the health check\'s network probe of the Sheets endpoint.' },
  { key: 'monitoring.restoreTolerancePercent', env: 'ATLAS_RESTORE_TOLERANCE', type: 'percent', default: 5, doc: 'Backup restore test: allowed difference of row counts between backup and live database (%).' },
  { key: 'security.keyRotationDays', env: 'ATLAS_KEY_ROTATION_DAYS', type: 'int', default: 90, min: 1, doc: 'Key rotation policy: the security audit flags a Sheets key older than this (days).' },
  { key: 'thresholds.diskPercent', env: 'ATLAS_THRESHOLD_DISK', type: 'percent', default: 80, doc: 'Disk usage warning threshold (%).' },
  { key: 'thresholds.diskCriticalPercent', env: 'ATLAS_THRESHOLD_DISK_CRITICAL', type: 'percent', default: 95, doc: 'Disk usage critical threshold (%): starts the disk emergency.' },
  { key: 'thresholds.memoryPercent', env: 'ATLAS_THRESHOLD_MEMORY', type: 'percent', default: 90, doc: 'Memory usage threshold (%).' },
  { key: 'thresholds.load15', env: 'ATLAS_THRESHOLD_LOAD15', type: 'number', default: 2.0, doc: '15-minute load average threshold.' },
  { key: 'thresholds.syncSuccessPercent', env: 'ATLAS_THRESHOLD_SYNC_SUCCESS', type: 'percent', default: 99, doc: 'Minimum sync success rate (%).' },
  { key: 'thresholds.approvalResponseHours', env: 'ATLAS_THRESHOLD_APPROVAL_HOURS', type: 'number', default: 4, doc: 'Maximum average approval response time (hours).' },
  { key: 'thresholds.errorResolutionPercent', env: 'ATLAS_THRESHOLD_ERROR_RESOLUTION', type: 'percent', default: 90, doc: 'Minimum share of errors resolved within 24 h (%).' },
  { key: 'thresholds.dbResponseMs', env: 'ATLAS_THRESHOLD_DB_MS', type: 'number', default: 100, doc: 'Maximum average database response time (ms).' },
  { key: 'thresholds.pendingApprovalHours', env: 'ATLAS_THRESHOLD_PENDING_HOURS', type: 'number', default: 24, doc: 'Approvals pending longer than this raise a warning (hours).' },
  { key: 'thresholds.backupAgeHours', env: 'ATLAS_THRESHOLD_BACKUP_AGE_HOURS', type: 'number', default: 26, doc: 'Maximum age of the newest verified backup (hours; daily backups plus slack).' },
  { key: 'thresholds.syncOffline', env: 'ATLAS_THRESHOLD_SYNC_OFFLINE', type: 'duration', default: '1h', doc: 'No successful sync for this long while syncs run: critical "sync offline".' },
  { key: 'thresholds.replicationLag', env: 'ATLAS_THRESHOLD_REPLICATION_LAG', type: 'duration', default: '60s', doc: 'Replication lag (age of the oldest write not yet in the replica) above this: warning.' },
  { key: 'thresholds.replicationLagCritical', env: 'ATLAS_THRESHOLD_REPLICATION_LAG_CRITICAL', type: 'duration', default: '10m', doc: 'Replication lag above this: critical.' },
];

/**
 * Settings that were removed, each with the one that replaced it. Found in the file or the environment it is
 * an error naming the replacement, never ignored: an operator upgrading would otherwise lose what it did.
 */
export const REMOVED_FIELDS: readonly { key: string; env: string; now: string; why: string }[] = [
  { key: 'keys.sshAuthorizedKeys', env: 'ATLAS_KEYS_SSH_AUTHORIZED_KEYS', now: 'access.sshKeySources', why: 'the access review and key rotation read one list of authorized_keys files; move its user:/path entries there' },
];

function removedProblem(removed: (typeof REMOVED_FIELDS)[number], source: string): string {
  const now = CONFIG_FIELDS.find((f) => f.key === removed.now)!;
  return `${source}: removed, replaced by ${now.key} (${now.env}): ${removed.why}`;
}

export interface ScheduleSetting {
  kind: 'interval' | 'cron' | 'off';
  /** Milliseconds for interval, the cron expression for cron. */
  every?: number;
  cron?: string;
  text: string;
}

export interface AtlasConfig {
  home: string;
  host: string;
  temporal: {
    address: string;
    namespace: string;
    uiUrl: string;
    tls: 'auto' | 'on' | 'off';
    tlsCert: string;
    tlsKey: string;
    tlsCa: string;
    tlsServerName: string;
    apiKeyFile: string;
  };
  taskQueue: string;
  scheduleIdPrefix: string;
  schedules: {
    export: ScheduleSetting;
    import: ScheduleSetting;
    backup: ScheduleSetting;
    health: ScheduleSetting;
    weekly: ScheduleSetting;
    monthly: ScheduleSetting;
    keyRotation: ScheduleSetting;
    alertsDigest: ScheduleSetting;
    ociBackup: ScheduleSetting;
    timezone: string;
  };
  backup: { keep: number };
  recovery: { onCorruption: 'auto' | 'alert-only'; pageAfter: number; personTimeout: number };
  access: { allowlist: string[]; sshKeySources: KeySource[] };
  app: { units: string[] };
  swap: { pollInterval: number; pageAfter: number; timeout: number };
  diskEmergency: { keepBackups: number; logrotateConfig: string; journalVacuumUnit: string };
  maintenance: { editTimeout: number; reminderInterval: number; drainTimeout: number; decisionTimeout: number; hostQueueTimeout: number; stepTimeout: number; heartbeatTimeout: number };
  sqliteWeb: { port: number };
  sheets: { rootUrl: string; spreadsheetId: string; credentials: string; emulatorPort: number; requestTimeout: number };
  oci: {
    userId: string;
    endpoint: string;
    volumeId: string;
    configFile: string;
    pollInterval: number;
    keepBackups: number;
    instanceId: string;
    mountPoint: string;
    device: string;
    swapStashDir: string;
    mountUnit: string;
    umountUnit: string;
    attachPageAfter: number;
    attachTimeout: number;
  };
  replica: { endpoint: string; bucket: string; path: string; region: string; credentialsFile: string; caBundle: string; unit: string; syncInterval: number; retention: number; devServerPort: number };
  alerts: { webhookUrl: string; webhookAttempts: number; webhookBackoff: number; incidentAfter: number | 'off' };
  incident: { pageAfter: number; stageTimeout: number };
  /** Workflow types started by critical alerts ('' = none). */
  remediation: { diskEmergency: string; corruption: string; syncOffline: string };
  monitoring: { probeTimeout: number; restoreTolerancePercent: number };
  security: { keyRotationDays: number };
  thresholds: {
    diskPercent: number;
    diskCriticalPercent: number;
    memoryPercent: number;
    load15: number;
    syncSuccessPercent: number;
    approvalResponseHours: number;
    errorResolutionPercent: number;
    dbResponseMs: number;
    pendingApprovalHours: number;
    backupAgeHours: number;
    syncOffline: number;
    replicationLag: number;
    replicationLagCritical: number;
  };
}

/** The per-host queue on which activities that touch the host's files run. */
export function hostTaskQueue(config: Pick<AtlasConfig, 'taskQueue' | 'host'>): string {
  return `${config.taskQueue}@${config.host}`;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

const CRON_FIELD = /^[\d*,/\-A-Za-z?]+$/;

export function parseSchedule(text: string, field: string): ScheduleSetting {
  const value = text.trim();
  if (value === 'off') return { kind: 'off', text: value };
  const every = /^every\s+(.+)$/i.exec(value);
  if (every) return { kind: 'interval', every: parseDuration(every[1]!, field), text: value };
  const parts = value.split(/\s+/);
  if (parts.length === 5 && parts.every((p) => CRON_FIELD.test(p))) return { kind: 'cron', cron: value, text: value };
  throw new Error(`${field}: "${value}" is not a schedule (expected "every 5m", a 5-field cron expression, or "off")`);
}

/** A JSON list as is, or comma-separated text split; undefined for anything else. */
function listOf(text: unknown): unknown[] | undefined {
  return Array.isArray(text) ? text : typeof text === 'string' ? text.split(',').map((u) => u.trim()).filter(Boolean) : undefined;
}

function convert(spec: FieldSpec, raw: unknown, source: string): unknown {
  const where = `${spec.key} (from ${source})`;
  const text = typeof raw === 'string' ? raw.trim() : raw;
  switch (spec.type) {
    case 'string':
    case 'path':
      if (typeof text !== 'string') throw new Error(`${where}: expected a string, got ${JSON.stringify(raw)}`);
      return text;
    case 'url': {
      if (typeof text !== 'string') throw new Error(`${where}: expected a URL string, got ${JSON.stringify(raw)}`);
      if (text === '') return '';
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        throw new Error(`${where}: "${text}" is not a URL`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${where}: "${text}" must be an http(s) URL`);
      return text;
    }
    case 'int':
    case 'number':
    case 'percent': {
      const n = typeof text === 'number' ? text : typeof text === 'string' && text !== '' ? Number(text) : NaN;
      if (!Number.isFinite(n)) throw new Error(`${where}: "${String(raw)}" is not a number`);
      if (spec.type === 'int' && !Number.isInteger(n)) throw new Error(`${where}: ${n} is not a whole number`);
      if (spec.min !== undefined && n < spec.min) throw new Error(`${where}: ${n} is below the minimum ${spec.min}`);
      if (spec.type === 'percent' && (n < 0 || n > 100)) throw new Error(`${where}: ${n} is not a percentage (0–100)`);
      return n;
    }
    case 'duration': {
      if (spec.off && text === 'off') return 'off';
      const ms = typeof text === 'number' ? text : parseDuration(String(text), where);
      const short = spec.min === undefined ? undefined : minimumProblem(ms, spec.min);
      if (short) throw new Error(`${where}: ${short}`);
      return ms;
    }
    case 'schedule':
      return parseSchedule(String(text), where);
    case 'units': {
      const list = listOf(text);
      if (!list || list.some((u) => typeof u !== 'string' || !/^[A-Za-z0-9:_.@-]+\.(service|target)$/.test(u))) {
        throw new Error(`${where}: ${JSON.stringify(raw)} is not a list of systemd units such as "atlas-agent.service"`);
      }
      return list;
    }
    case 'allowlist':
      return parseAllowlist(text, where);
    case 'keySources': {
      const list = listOf(text);
      if (!list) throw new Error(`${where}: ${JSON.stringify(raw)} is not a list of authorized_keys files`);
      return parseKeySources(list, where);
    }
    case 'enum':
      if (!spec.values!.includes(String(text))) throw new Error(`${where}: "${String(raw)}" is not one of ${spec.values!.join(', ')}`);
      return text;
  }
}

function getPath(obj: unknown, key: string): unknown {
  let cur: unknown = obj;
  for (const part of key.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function setPath(obj: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let cur = obj;
  for (const part of parts.slice(0, -1)) {
    cur[part] ??= {};
    cur = cur[part] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

/** Keys present in the file that no field knows (a removed one named as such): a typo there must not pass silently. */
function unknownKeys(obj: unknown, prefix = ''): string[] {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return [];
  const out: string[] = [];
  const named = [...CONFIG_FIELDS, ...REMOVED_FIELDS];
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (CONFIG_FIELDS.some((f) => f.key === key)) continue;
    if (named.some((f) => f.key.startsWith(`${key}.`))) out.push(...unknownKeys(v, key));
    else out.push(key);
  }
  return out;
}

export interface LoadOptions {
  /** Explicit config file (--config); otherwise <home>/config/atlas-ops.json when it exists. */
  configFile?: string;
  env?: NodeJS.ProcessEnv;
  /** Values that win over everything (CLI flags such as --home). */
  overrides?: Record<string, string | number>;
  /**
   * Values beneath the configuration file and the environment, above the defaults: what a running
   * `atlas-ops dev` started (src/dev-settings.ts), named by `source` in errors.
   */
  beneath?: { values: Record<string, string | number>; source: string };
}

export function loadConfig(options: LoadOptions = {}): AtlasConfig {
  const env = options.env ?? process.env;
  const problems: string[] = [];
  const out: Record<string, unknown> = {};

  // The home decides where the default config file is, so it is resolved first.
  const homeSpec = CONFIG_FIELDS.find((f) => f.key === 'home')!;
  const home = path.resolve(String(options.overrides?.home ?? env[homeSpec.env!] ?? homeSpec.default));

  const configFile = options.configFile ?? path.join(home, 'config', 'atlas-ops.json');
  let file: unknown = {};
  if (options.configFile && !fs.existsSync(options.configFile)) {
    problems.push(`--config: ${options.configFile} does not exist`);
  } else if (fs.existsSync(configFile)) {
    try {
      file = JSON.parse(fs.readFileSync(configFile, 'utf8'));
      if (file === null || typeof file !== 'object' || Array.isArray(file)) throw new Error('not a JSON object');
    } catch (err) {
      problems.push(`${configFile}: ${(err as Error).message}`);
      file = {};
    }
    for (const key of unknownKeys(file)) {
      const removed = REMOVED_FIELDS.find((r) => r.key === key);
      problems.push(removed ? removedProblem(removed, `${key} (from ${configFile})`) : `${key} (from ${configFile}): unknown setting`);
    }
  }
  for (const removed of REMOVED_FIELDS) {
    if (env[removed.env]) problems.push(removedProblem(removed, `${removed.key} (from ${removed.env})`));
  }

  for (const spec of CONFIG_FIELDS) {
    let raw: unknown = spec.default;
    let source = 'default';
    if (options.beneath?.values[spec.key] !== undefined) {
      raw = options.beneath.values[spec.key];
      source = options.beneath.source;
    }
    const fromFile = getPath(file, spec.key);
    if (fromFile !== undefined) {
      raw = fromFile;
      source = configFile;
    }
    if (spec.env && env[spec.env] !== undefined && env[spec.env] !== '') {
      raw = env[spec.env];
      source = spec.env;
    }
    if (options.overrides?.[spec.key] !== undefined) {
      raw = options.overrides[spec.key];
      source = 'command line';
    }
    try {
      setPath(out, spec.key, convert(spec, raw, source));
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (problems.length) throw new ConfigError(problems);

  const config = out as unknown as AtlasConfig;
  config.home = path.resolve(config.home);
  if (config.sheets.credentials) config.sheets.credentials = path.resolve(config.home, config.sheets.credentials);
  if (config.diskEmergency.logrotateConfig) config.diskEmergency.logrotateConfig = path.resolve(config.home, config.diskEmergency.logrotateConfig);
  if (config.oci.configFile) config.oci.configFile = path.resolve(config.home, config.oci.configFile);
  config.oci.mountPoint = path.resolve(config.home, config.oci.mountPoint || '.');
  config.oci.swapStashDir = path.resolve(config.home, config.oci.swapStashDir);
  config.replica.credentialsFile = path.resolve(config.home, config.replica.credentialsFile);
  if (config.replica.caBundle) config.replica.caBundle = path.resolve(config.home, config.replica.caBundle);
  for (const key of ['tlsCert', 'tlsKey', 'tlsCa', 'apiKeyFile'] as const) {
    if (config.temporal[key]) config.temporal[key] = path.resolve(config.home, config.temporal[key]);
  }
  if (Boolean(config.temporal.tlsCert) !== Boolean(config.temporal.tlsKey)) {
    problems.push('temporal.tlsCert and temporal.tlsKey: give both (a client certificate and its key) or neither');
  }
  if (config.temporal.tls === 'off' && (config.temporal.tlsCert || config.temporal.apiKeyFile)) {
    problems.push('temporal.tls: "off" contradicts temporal.tlsCert / temporal.apiKeyFile, which need TLS');
  }
  const vacuumUnit = config.diskEmergency.journalVacuumUnit;
  if (vacuumUnit && !/^[A-Za-z0-9:_.@-]+\.service$/.test(vacuumUnit)) problems.push(`diskEmergency.journalVacuumUnit: "${vacuumUnit}" is not a systemd service name such as "atlas-ops-journal-vacuum.service"`);
  if (!/^[A-Za-z0-9._@-]+$/.test(config.taskQueue)) problems.push(`taskQueue: "${config.taskQueue}" may hold only letters, digits and . _ @ -`);
  if (!/^[A-Za-z0-9._-]*$/.test(config.scheduleIdPrefix)) problems.push(`scheduleIdPrefix: "${config.scheduleIdPrefix}" may hold only letters, digits and . _ -`);
  problems.push(...replicaProblems(config), ...volumeSwapProblems(config));
  if (config.thresholds.replicationLagCritical < config.thresholds.replicationLag) {
    problems.push(`thresholds.replicationLagCritical (${config.thresholds.replicationLagCritical} ms) is below thresholds.replicationLag (${config.thresholds.replicationLag} ms)`);
  }
  if (config.incident.pageAfter >= config.incident.stageTimeout) {
    problems.push(`incident.pageAfter (${config.incident.pageAfter} ms) must be below incident.stageTimeout (${config.incident.stageTimeout} ms): the page comes before the timeout`);
  }
  if (config.thresholds.diskCriticalPercent < config.thresholds.diskPercent) {
    problems.push(`thresholds.diskCriticalPercent (${config.thresholds.diskCriticalPercent}) is below thresholds.diskPercent (${config.thresholds.diskPercent})`);
  }
  if (problems.length) throw new ConfigError(problems);
  return config;
}

/** Replication is configured when an endpoint is: every other replica field then has to make sense. */
export function replicaConfigured(config: Pick<AtlasConfig, 'replica'>): boolean {
  return config.replica.endpoint !== '';
}

/** The replica fields' own rules, each problem naming its field (docs/safety.md#continuous-replica). */
function replicaProblems(config: AtlasConfig): string[] {
  const r = config.replica;
  const out: string[] = [];
  const configDir = path.join(config.home, 'config');
  if (path.dirname(r.credentialsFile) !== configDir) out.push(`replica.credentialsFile: ${r.credentialsFile} must be a file directly in ${configDir} (secrets live under config/, mode 0600)`);
  if (r.syncInterval < 100) out.push(`replica.syncInterval: ${r.syncInterval} ms is below the minimum 100ms`);
  if (r.retention < 3_600_000) out.push(`replica.retention: ${r.retention} ms is below the minimum 1h`);
  if (r.path !== '' && !/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(r.path) || r.path.split('/').some((p) => p === '..' || p === '.')) {
    out.push(`replica.path: "${r.path}" must be a relative key prefix of letters, digits, . _ - and / (no leading /, no ..)`);
  }
  if (!replicaConfigured(config)) {
    if (r.bucket) out.push('replica.endpoint: required when replica.bucket is set (the S3-compatible endpoint of the replica)');
    return out;
  }
  if (!r.bucket) out.push('replica.bucket: required when replica.endpoint is set');
  else if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(r.bucket)) out.push(`replica.bucket: "${r.bucket}" is not a bucket name (3–63 lower-case letters, digits, . and -)`);
  if (!r.path) out.push('replica.path: required when replica.endpoint is set');
  if (!/^[a-z0-9-]+$/.test(r.region)) out.push(`replica.region: "${r.region}" is not a region id (lower-case letters, digits and -, e.g. eu-frankfurt-1)`);
  return out;
}

const inside = (dir: string, p: string) => p === dir || p.startsWith(`${dir}${path.sep}`);

/** Option C's host layout: atlas.db on the mounted volume, the stash off it (docs/procedures.md#option-c-the-volume-swap). */
function volumeSwapProblems(config: AtlasConfig): string[] {
  const { mountPoint, swapStashDir, device, mountUnit, umountUnit } = config.oci;
  const out: string[] = [];
  const atlasDb = path.join(config.home, 'data', 'atlas.db');
  if (!inside(mountPoint, atlasDb)) out.push(`oci.mountPoint: ${mountPoint} does not hold ${atlasDb} (it is where the data volume is mounted)`);
  if (inside(mountPoint, swapStashDir) || inside(swapStashDir, mountPoint)) out.push(`oci.swapStashDir: ${swapStashDir} must be outside oci.mountPoint ${mountPoint} (it keeps atlas-ops' files while the volume is swapped)`);
  if (device && !/^\/dev\/[A-Za-z0-9._/-]+$/.test(device)) out.push(`oci.device: "${device}" is not a device path under /dev`);
  if (mountUnit && !/^[A-Za-z0-9:_.-]+@\.service$/.test(mountUnit)) out.push(`oci.mountUnit: "${mountUnit}" is not a template service name such as "atlas-ops-volume-mount@.service" (its instance is the file system UUID)`);
  if (umountUnit && !/^[A-Za-z0-9:_.-]+\.service$/.test(umountUnit)) out.push(`oci.umountUnit: "${umountUnit}" is not a systemd service name such as "atlas-ops-volume-umount.service"`);
  if (Boolean(mountUnit) !== Boolean(umountUnit)) out.push('oci.mountUnit and oci.umountUnit: give both (a worker that may not mount may not unmount either) or neither');
  return out;
}

/** Fails when the Atlas home is missing: most commands must not invent one silently. */
export function requireHome(config: AtlasConfig): void {
  if (!fs.existsSync(config.home) || !fs.statSync(config.home).isDirectory()) {
    throw new ConfigError([`home: ${config.home} does not exist (set ATLAS_HOME or --home, or run \`atlas-ops dev\` to create a demo home)`]);
  }
}
