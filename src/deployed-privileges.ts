// What the worker as deployed (deploy/systemd/atlas-ops-worker.service: its own user, the system
// read-only, /root and /home hidden) is granted beyond its home, and by which file in deploy/
// (docs/safety.md#the-worker-as-deployed). Messages of a refused command name these.

/** polkit rule letting the worker's user start and stop exactly the units atlas-ops manages. */
export const POLKIT_RULE = 'deploy/polkit/50-atlas-ops.rules';
/** What the disk emergency asks of the journal; the vacuum unit's ExecStart runs the same (test/deploy.test.ts). */
export const JOURNAL_VACUUM_ARGS = ['--vacuum-time=1d'];
/** The oneshot unit that vacuums the journal as root, outside the worker's sandbox. */
export const JOURNAL_VACUUM_UNIT = 'atlas-ops-journal-vacuum.service';
/** The worker unit's StateDirectory=: its own, writable, kept across restarts; holds the default oci.swapStashDir. */
export const DEPLOYED_STATE_DIR = '/var/lib/atlas-ops';
/** Option C's mount, as root: a template whose instance is the file system UUID; the mount point is fixed in the unit. */
export const VOLUME_MOUNT_UNIT = 'atlas-ops-volume-mount@.service';
/** Option C's unmount of the data volume's mount point (fixed in the unit), as root. */
export const VOLUME_UMOUNT_UNIT = 'atlas-ops-volume-umount.service';
/**
 * A file system UUID as the polkit rule accepts it for an instance of VOLUME_MOUNT_UNIT (the rule
 * spells the same pattern; test/deploy.test.ts holds them to the same cases).
 */
export const FS_UUID = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;
/** The instance of a template unit (`name@.service`) for `instance`. */
export const unitInstance = (template: string, instance: string) => template.replace(/@\.service$/, `@${instance}.service`);
/** logrotate configuration of the Atlas logs, installed as `<home>/config/logrotate.conf`. */
export const LOGROTATE_CONFIG = 'deploy/logrotate/atlas-ops.conf';

export const grant = {
  systemctl: (unit: string) => `the polkit rule ${POLKIT_RULE} grants the worker's user start and stop of the units atlas-ops manages; add ${unit} to it`,
  journalVacuum: `vacuuming the journal needs root and a writable /var/log/journal, which the deployed unit does not give the worker: set diskEmergency.journalVacuumUnit to ${JOURNAL_VACUUM_UNIT} (deploy/systemd/, started through ${POLKIT_RULE})`,
  volumeUnit: (unit: string, template: string) =>
    `Option C mounts and unmounts through root oneshot units the worker starts: install deploy/systemd/${template} (/etc/systemd/system/, then systemctl daemon-reload) and ${POLKIT_RULE}, which lets the worker's user start exactly those (${unit})`,
  logrotate: (config: string, home: string) => `the deployed unit lets the worker write only under ${home}: ${config} must rotate only files in ${home}/logs (${LOGROTATE_CONFIG})`,
};
