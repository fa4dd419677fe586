// Fault suite, the Temporal server itself (docs/safety.md#durable-progress): each case starts its own dev server
// (SQLite state in a temp file), stops it while a procedure is under way, starts it again on the
// same port with the same file, and checks the procedure carries on with each effect exactly once.
// The worker is an in-process worker started before the outage; the test records whether it
// survived the outage on its own (the SDK's pollers retry while the server is away) or had to be
// started again, and fails if it had to: operators run one long-lived worker under systemd.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { atlasPaths } from '../../src/paths';
import { listBackups } from '../../src/db/snapshot';
import { padAtlasDb } from '../../src/db/demo-seed';
import { scheduleId } from '../../src/schedules';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server';
import { allocatePort } from '../../src/ports';
import { createAtlasWorker } from '../../src/worker';
import { statusQuery } from '../../workflows/lib/procedure';
import type { BackupResult } from '../../workflows/backup';
import type { MaintenanceResult } from '../../workflows/maintenance';
import { startAtlas } from '../helpers/atlas';
import { createSchedules, eventually, runCli, type TestEnv } from '../helpers/env';
import { expectMaintenanceCompletedOnce, makeTheEdit } from './checks';
import { recordFault } from './report';

/** How long the server stays down: long enough that every poll and heartbeat of the worker fails. */
const OUTAGE_MS = 5_000;

interface Restartable {
  dir: string;
  server: DevServer;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function ownServer(): Promise<Restartable> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-temporal-restart-'));
  const options = { port: await allocatePort(), headless: true, dbFile: path.join(dir, 'temporal.db'), logFile: path.join(dir, 'temporal.log') };
  const r: Restartable = {
    dir,
    server: await startDevServer(options),
    async restart() {
      await r.server.stop();
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
      r.server = await startDevServer(options);
    },
    async stop() {
      await r.server.stop();
      if (!process.env.ATLAS_KEEP_TEST_FILES) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return r;
}

/** A worker in this process whose run() outcome the test can inspect after the outage. */
async function watchedWorker(t: TestEnv) {
  const worker = await createAtlasWorker(t.config, { workflowBundlePath: inject('workflowBundlePath'), client: t.client });
  let failure: Error | undefined;
  let ended = false;
  const running = worker.run().then(
    () => void (ended = true),
    (err: Error) => {
      ended = true;
      failure = err;
    },
  );
  return {
    get alive() {
      return !ended;
    },
    get failure() {
      return failure;
    },
    async stop() {
      worker.shutdown();
      await running;
    },
  };
}

describe.concurrent('the Temporal server restarts', { timeout: 240_000 }, () => {
  it('while a maintenance waits for edits: still in the edit phase after, resume completes it once', async () => {
    const server = await ownServer();
    const t = await startAtlas({ temporalAddress: server.server.address });
    const worker = await watchedWorker(t);
    let survived = false;
    let dataLost = 0;
    try {
      await createSchedules(t, ['export', 'import', 'backup'], ['backup']);
      const start = await runCli(t, ['--json', 'maintenance', 'start', '--reason', 'server restart']);
      expect(start.code, start.stderr).toBe(0);
      const { workflowId } = JSON.parse(start.stdout) as { workflowId: string };
      const handle = t.client.workflow.getHandle(workflowId);
      const inEdit = async () => {
        const s = await handle.query(statusQuery);
        return s.phase === 'edit' && s.state === 'waiting';
      };
      await eventually(inEdit, 90_000, 'the edit phase');

      await server.restart();

      expect(worker.failure).toBeUndefined();
      expect(worker.alive).toBe(true);
      await eventually(inEdit, 90_000, 'the edit phase after the restart');
      makeTheEdit(t);
      const resume = await runCli(t, ['maintenance', 'resume', workflowId, '--by', 'fault-suite']);
      expect(resume.code, resume.stderr).toBe(0);
      const result = (await handle.result()) as MaintenanceResult;

      dataLost = await expectMaintenanceCompletedOnce(t, result);
      expect(dataLost).toBe(0);
      survived = true;
    } finally {
      recordFault({ fault: 'server restart: maintenance waiting for edits', survived, dataLost });
      await worker.stop();
      await t.cleanup();
      await server.stop();
    }
  });

  it("while a scheduled backup's snapshot is under way: the run completes once, one verified backup", async () => {
    const server = await ownServer();
    const t = await startAtlas({ temporalAddress: server.server.address });
    const paths = atlasPaths(t.home);
    // Large enough that the snapshot is still copying when the server goes away.
    padAtlasDb(paths.atlasDb, 100);
    const worker = await watchedWorker(t);
    let survived = false;
    const dataLost = 0;
    try {
      const schedule = await t.client.schedule.create({
        scheduleId: scheduleId(t.config, 'backup'),
        spec: { intervals: [{ every: '1 day' }] },
        action: { type: 'startWorkflow', workflowType: 'backup', taskQueue: t.config.taskQueue, args: [{}] },
        policies: { overlap: ScheduleOverlapPolicy.SKIP },
      });
      await schedule.trigger();
      const workflowId = await eventually(async () => {
        const { info } = await schedule.describe();
        return (info.runningActions[0] ?? info.recentActions[0]?.action)?.workflow.workflowId;
      }, 60_000, 'the triggered run');
      const handle = t.client.workflow.getHandle(workflowId);
      await eventually(async () => {
        const d = await handle.describe();
        return d.raw.pendingActivities?.some((a) => a.activityType?.name === 'snapshotAtlasDb');
      }, 60_000, 'the snapshot to be under way');

      await server.restart();

      expect(worker.failure).toBeUndefined();
      expect(worker.alive).toBe(true);
      const result = (await handle.result()) as BackupResult;
      expect(result.outcome).toBe('completed');
      const backups = listBackups(paths.backupsDir);
      expect(backups).toHaveLength(1);
      expect(backups[0]!.verified).toBe(true);
      expect(backups[0]!.name).toBe(result.backup!.file);
      expect(fs.readdirSync(paths.backupsDir).filter((f) => f.includes('partial'))).toEqual([]);
      // The schedule started one run, not a second one after the restart.
      const d = await schedule.describe();
      expect(d.info.recentActions.map((a) => a.action.workflow.workflowId)).toEqual([workflowId]);
      expect(d.info.runningActions).toEqual([]);
      survived = true;
    } finally {
      recordFault({ fault: 'server restart: scheduled backup mid-snapshot', survived, dataLost });
      await worker.stop();
      await t.cleanup();
      await server.stop();
    }
  });
});
