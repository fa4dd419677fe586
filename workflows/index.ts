// Every workflow type the worker registers. Workflow type names are public: operators start
// procedures from the Web UI by these names.
export { maintenance } from './maintenance';
export { sheetsExport, sheetsImport } from './sheets-sync';
export { sheetsOutage } from './sheets-outage';
export { backup } from './backup';
export { ociBackup } from './oci-backup';
export { corruptionRecovery } from './corruption-recovery';
export { restore } from './restore';
export { diskEmergency } from './disk-emergency';
export { healthCheck, alertsDigest, weeklyRoutine, monthlyRoutine, accessReview } from './monitoring';
export { incidentResponse } from './incident';
export { keyRotation } from './key-rotation';
export { diagnose } from './diagnose';
