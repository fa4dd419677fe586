// One real Temporal dev server for the whole suite (on a free port, state in a temp file), and the
// workflow code bundled once; test files get both through `inject`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startDevServerOnPickedPorts, type DevServer } from '../src/temporal/dev-server';
import { usePortSlot } from '../src/ports';
import { WORKFLOWS_PATH } from '../src/worker';
import { faultTable, resetFaults } from './faults/report';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    workflowBundlePath: string;
    scratchDir: string;
  }
}

let server: DevServer | undefined;
let scratch: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-ops-test-'));
  resetFaults();
  // Slot 0 is the setup's; each test worker takes its pool id's (test/helpers/port-slot.ts).
  usePortSlot(0);
  const [dev, bundle] = await Promise.all([
    startDevServerOnPickedPorts({ headless: true, dbFile: path.join(scratch, 'temporal.db'), logFile: path.join(scratch, 'temporal.log') }),
    bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} } as never }),
  ]);
  server = dev;
  const bundlePath = path.join(scratch, 'workflow-bundle.js');
  fs.writeFileSync(bundlePath, bundle.code);
  project.provide('temporalAddress', dev.address);
  project.provide('workflowBundlePath', bundlePath);
  project.provide('scratchDir', scratch);
}

export async function teardown(): Promise<void> {
  const table = faultTable();
  if (!table.startsWith('no fault')) {
    fs.writeFileSync(path.join(__dirname, '..', 'test-artifacts', 'faults.md'), `${table}\n`);
    console.log(`\nFault suite:\n${table}\n`);
  }
  await server?.stop();
  if (scratch && !process.env.ATLAS_KEEP_TEST_FILES) fs.rmSync(scratch, { recursive: true, force: true });
}
