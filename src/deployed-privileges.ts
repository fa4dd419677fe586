// What the worker as deployed (deploy/systemd/atlas-ops-worker.service: its own user, the system
// read-only, /root and /home hidden) is granted beyond its home, and by which file in deploy/
// (docs/safety.md#the-worker-as-deployed). Messages of a refused command name these.

/** polkit rule letting the worker's user start and stop exactly the units atlas-ops manages. */
export const POLKIT_RULE = 'deploy/polkit/50-atlas-ops.rules';
/** What the disk emergency asks of the journal; the vacuum unit's ExecStart runs the same (test/deploy.test.ts). */
export const JOURNAL_VACUUM_ARGS = ['--vacuum-time=1d'];
/** The oneshot unit that vacuums the journal as root, outside the worker's sandbox. */
export const JOURNAL_VACUUM_UNIT = 'atlas-ops-journal-vacuum.service';
/** logrotate configuration of the Atlas logs, installed as `<home>/config/logrotate.conf`. */
export const LOGROTATE_CONFIG = 'deploy/logrotate/atlas-ops.conf';

export const grant = {
  systemctl: (unit: string) => `the polkit rule ${POLKIT_RULE} grants the worker's user start and stop of the units atlas-ops manages; add ${unit} to it`,
  journalVacuum: `vacuuming the journal needs root and a writable /var/log/journal, which the deployed unit does not give the worker: set diskEmergency.journalVacuumUnit to ${JOURNAL_VACUUM_UNIT} (deploy/systemd/, started through ${POLKIT_RULE})`,
  logrotate: (config: string, home: string) => `the deployed unit lets the worker write only under ${home}: ${config} must rotate only files in ${home}/logs (${LOGROTATE_CONFIG})`,
};
