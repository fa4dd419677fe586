// The Google APIs atlas-ops calls, each loaded alone and on first use. The googleapis index requires
// every one of its ~300 APIs, over half a second of CPU in each CLI start and each worker, and a CLI
// command ending on bad input needs none (docs/performance.md#cli-start-up). Each is the module the
// @googleapis/<api> package publishes.
/* eslint-disable @typescript-eslint/no-require-imports */

type SheetsModule = typeof import('googleapis/build/src/apis/sheets');

export const sheetsModule = (): SheetsModule => require('googleapis/build/src/apis/sheets');

export const iamModule = (): typeof import('googleapis/build/src/apis/iam') => require('googleapis/build/src/apis/iam');

export const driveModule = (): typeof import('googleapis/build/src/apis/drive') => require('googleapis/build/src/apis/drive');

/** google-auth-library's service-account client (the same class whichever API module hands it out). */
export type JWT = InstanceType<SheetsModule['auth']['JWT']>;
