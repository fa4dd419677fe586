// The Temporal SDK's client and protobuf packages, loaded on first use: together about a third of
// a second of CPU that a CLI start ending on bad input (exit 2), or needing no server, never pays
// (docs/performance.md#cli-start-up). Types still come from `import type`, which loads nothing.
/* eslint-disable @typescript-eslint/no-require-imports */

export const temporalClient = (): typeof import('@temporalio/client') => require('@temporalio/client');

export const temporalProto = (): typeof import('@temporalio/proto') => require('@temporalio/proto');
