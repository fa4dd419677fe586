// Every workflow type the worker registers. Workflow type names are public: operators start
// procedures from the Web UI by these names.
export { maintenance } from './maintenance';
export { healthCheck, alertsDigest, weeklyRoutine, monthlyRoutine, accessReview } from './monitoring';
export { incidentResponse } from './incident';
export { keyRotation } from './key-rotation';
