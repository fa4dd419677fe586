// Activities on the host's own state: the maintenance flag, the atlas.db lock that keeps
// procedures which change atlas.db to one at a time, sqlite-web, and the procedure log.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { replicaFiles } from '../src/replication/litestream';
import { spawn } from 'node:child_process';
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { which } from '../src/command-runner';
import { startAppUnits, stopAppUnits, type StoppedUnits } from '../src/app-units';
import { databaseHolders, type FileHolder } from '../src/db/holders';
import { hostTaskQueue } from '../src/config';
import { MODE } from '../src/file-modes';
import { appendLog } from '../src/log';
import { ownershipOf, recordProcess, stopRecordedProcess } from '../src/owned-process';
import { listenersOn } from '../src/proc';
import { activityPollers } from '../src/temporal/task-queue';
import type { ActivityContext } from './deps';
import { failure } from '../src/workflow-safe/failures';
import { targetMismatch, type Target } from '../src/target';
import { shellQuote } from '../src/workflow-safe/shell-quote';

export const ATLAS_DB_LOCK = 'atlas.db';

/** One activity call across its retries: the workflow run and the activity id. None outside an activity. */
function activityCallKey(): string | undefined {
  let info;
  try {
    info = Context.current().info;
  } catch {
    return undefined;
  }
  const run = info.workflowExecution;
  return run ? `${run.workflowId}/${run.runId}/${info.activityId}` : undefined;
}

export interface ProcedureContext {
  host: string;
  hostQueue: string;
  /** stepTimeout and heartbeatTimeout are absent from contexts recorded before they existed (the workflow defaults them). */
  defaults: { editTimeout: number; reminderInterval: number; drainTimeout: number; decisionTimeout: number; hostQueueTimeout: number; stepTimeout?: number; heartbeatTimeout?: number };
  /** Waiting for the holders of atlas.db before a swap (docs/safety.md#no-swap-under-a-live-writer). */
  swap: { pollInterval: number; pageAfter: number; timeout: number };
  /** Corruption recovery's waits for a person, and Option C's for a volume (ATTACHED, DETACHED): the page, then the timeout outcome. */
  recovery: { pageAfter: number; personTimeout: number; attachPageAfter: number; attachTimeout: number };
  /** An incident stage's wait for `advance`: the page, then the timeout outcome. */
  incident: { pageAfter: number; stageTimeout: number };
  atlasDb: string;
  sqliteWebPort: number;
  /** A spreadsheet is configured: procedures that pause the sync put a banner on its Status tab. */
  sheetsConfigured: boolean;
}

function portOpen(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** What a procedure needs to know of the host whose worker this is (its queue, paths, defaults). */
function contextOf(ctx: ActivityContext): ProcedureContext {
  const c = ctx.config;
  return {
    host: c.host,
    hostQueue: hostTaskQueue(c),
    defaults: { ...c.maintenance },
    swap: { ...c.swap },
    recovery: { pageAfter: c.recovery.pageAfter, personTimeout: c.recovery.personTimeout, attachPageAfter: c.oci.attachPageAfter, attachTimeout: c.oci.attachTimeout },
    incident: { ...c.incident },
    atlasDb: ctx.paths.atlasDb,
    sqliteWebPort: c.sqliteWeb.port,
    sheetsConfigured: c.sheets.spreadsheetId !== '',
  };
}

/**
 * Runs on the workflow task queue: tells a procedure that names no host where this host's
 * activities run. Any worker may answer it, so a procedure that names its host asks that host's
 * queue instead (hostContext).
 */
export function createContextActivities(ctx: ActivityContext) {
  return {
    async procedureContext(): Promise<ProcedureContext> {
      return contextOf(ctx);
    },

    /** Whether a worker polls `queue`: asked from the workflow queue, which is served while this runs. */
    async hostQueueServed(input: { queue: string }): Promise<boolean> {
      return (await activityPollers(ctx.client, input.queue)).length > 0;
    },
  };
}

export function createHostActivities(ctx: ActivityContext) {
  const { paths } = ctx;
  const sqliteWebPid = () => path.join(paths.runDir, 'sqlite-web.pid');

  return {
    /** The context of the host this queue belongs to, for a procedure that named its host queue. */
    async hostContext(): Promise<ProcedureContext> {
      return contextOf(ctx);
    },

    /**
     * A procedure's first host step when it names its home or host queue: refuses (WrongTarget,
     * naming both) unless this worker serves that home and the queue this call arrived on.
     */
    async confirmTarget(asked: Target): Promise<Required<Target>> {
      const serves = { home: ctx.config.home, hostQueue: Context.current().info.taskQueue };
      const problem = targetMismatch(serves, asked);
      if (problem) throw failure.WrongTarget(problem);
      return serves;
    },

    async acquireDbLock(input: { holder: string; procedure: string }): Promise<void> {
      const db = ctx.opsDb();
      const row = db.prepare('SELECT * FROM locks WHERE name = ?').get(ATLAS_DB_LOCK) as { holder: string; procedure: string; acquired_at: string } | undefined;
      if (row && row.holder !== input.holder) {
        let running = false;
        try {
          const d = await ctx.client.workflow.getHandle(row.holder).describe();
          running = d.status.name === 'RUNNING';
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        }
        if (running) {
          throw failure.ProcedureConflict(
            `${row.procedure} ${row.holder} is changing atlas.db (since ${row.acquired_at}); ` +
              `only one such procedure runs at a time. Finish or abort it first (atlas-ops status ${shellQuote(row.holder)}).`,
            { details: [{ holder: row.holder, procedure: row.procedure }] },
          );
        }
        // The holder ended without releasing (terminated from the UI, say): the lock is stale.
        db.prepare('UPDATE locks SET holder = ?, procedure = ?, acquired_at = ? WHERE name = ? AND holder = ?')
          .run(input.holder, input.procedure, ctx.now().toISOString(), ATLAS_DB_LOCK, row.holder);
      } else if (!row) {
        db.prepare('INSERT OR IGNORE INTO locks (name, holder, procedure, acquired_at) VALUES (?, ?, ?, ?)')
          .run(ATLAS_DB_LOCK, input.holder, input.procedure, ctx.now().toISOString());
      }
      const now = db.prepare('SELECT holder FROM locks WHERE name = ?').pluck().get(ATLAS_DB_LOCK);
      if (now !== input.holder) throw new Error(`lost the race for the atlas.db lock to ${String(now)}; retrying`);
    },

    async releaseDbLock(input: { holder: string }): Promise<void> {
      ctx.opsDb().prepare('DELETE FROM locks WHERE name = ? AND holder = ?').run(ATLAS_DB_LOCK, input.holder);
    },

    async setMaintenanceFlag(input: { workflowId: string; reason: string }): Promise<string> {
      fs.mkdirSync(paths.dataDir, { recursive: true, mode: MODE.dir });
      fs.writeFileSync(paths.maintenanceFlag, `${JSON.stringify({ workflowId: input.workflowId, reason: input.reason, since: ctx.now().toISOString() })}\n`, { mode: MODE.file });
      return paths.maintenanceFlag;
    },

    async clearMaintenanceFlag(): Promise<boolean> {
      const existed = fs.existsSync(paths.maintenanceFlag);
      fs.rmSync(paths.maintenanceFlag, { force: true });
      return existed;
    },

    /**
     * Starts sqlite-web on 127.0.0.1 only; when it is not installed, says which command to use
     * instead. Its pid file records what proves it ours (src/owned-process.ts); one that proves
     * nothing is never trusted, neither to reuse a process nor to stop one.
     */
    async startSqliteWeb(input: { port: number }): Promise<{ started: boolean; url?: string; hint: string }> {
      const sqliteCmd = `sqlite3 ${paths.atlasDb}`;
      const pidFile = sqliteWebPid();
      const running = { started: true, url: `http://127.0.0.1:${input.port}`, hint: `ssh -L ${input.port}:127.0.0.1:${input.port} <vm>, then browse http://localhost:${input.port}` };
      // A retry after the worker died: ours is already serving.
      if (ownershipOf(pidFile).state === 'ours' && (await portOpen(input.port))) return running;
      await stopRecordedProcess(pidFile);
      const bin = which('sqlite_web');
      if (!bin) return { started: false, hint: `sqlite-web is not installed (pip install sqlite-web); edit with: ${sqliteCmd}` };
      if (await portOpen(input.port)) {
        return { started: false, hint: `port 127.0.0.1:${input.port} is already in use; edit with: ${sqliteCmd}` };
      }
      fs.mkdirSync(paths.logsDir, { recursive: true, mode: MODE.dir });
      const out = fs.openSync(paths.log('sqlite-web'), 'a', MODE.file);
      const child = spawn(bin, ['--host', '127.0.0.1', '--port', String(input.port), '--no-browser', paths.atlasDb], {
        detached: true,
        stdio: ['ignore', out, out],
      });
      fs.closeSync(out);
      child.unref();
      try {
        if (child.pid) recordProcess(pidFile, child.pid);
      } catch {
        /* it exited at once: reported below */
      }
      for (let i = 0; i < 100 && child.pid; i++) {
        if (await portOpen(input.port)) {
          // Serving: the launcher (a pyenv shim, say) has exec'd the program, so its command line is final.
          recordProcess(pidFile, child.pid, { settled: true });
          return running;
        }
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await stopRecordedProcess(pidFile);
      return { started: false, hint: `sqlite-web did not start (see logs/sqlite-web.log); edit with: ${sqliteCmd}` };
    },

    /**
     * Stops the sqlite-web this host started, if its pid file proves it ours; never signals a process
     * it cannot prove. A listener left on the sqlite-web port afterwards fails the step, naming it.
     */
    async stopSqliteWeb(): Promise<{ stopped: boolean; note?: string }> {
      const port = ctx.config.sqliteWeb.port;
      const result = await stopRecordedProcess(sqliteWebPid());
      const note = result.outcome === 'unproven' ? `run/sqlite-web.pid was not trusted and nothing was signalled: ${result.reason}` : undefined;
      // A process that just exited may hold its socket a moment longer: give it that moment.
      let left = listenersOn(port);
      for (let i = 0; i < 30 && left.length; i++) {
        await new Promise((r) => setTimeout(r, 100));
        left = listenersOn(port);
      }
      if (left.length) {
        const who = left.map((l) => (l.pid ? `pid ${l.pid} (${l.command})` : `a process this user cannot see (${l.address})`)).join(', ');
        const kill = left.filter((l) => l.pid).map((l) => l.pid).join(' ');
        throw failure.UnprovenProcess(
          `127.0.0.1:${port} (sqlite-web's port) is still served by ${who}, which atlas-ops cannot prove it started, so it sent no signal` +
            `${note ? ` (${note})` : ''}. Check it and stop it yourself${kill ? ` (kill ${kill})` : ''}, then retry this step.`,
        );
      }
      return { stopped: result.outcome === 'stopped', ...(note ? { note } : {}) };
    },

    /** Before a swap of atlas.db: the Atlas app's units that are active, stopped (docs/safety.md#no-swap-under-a-live-writer). */
    async stopAppUnits(input: { workflowId: string }): Promise<StoppedUnits> {
      return stopAppUnits(ctx.config.app.units, paths.runDir, input.workflowId);
    },

    /** Every exit of a procedure that stopped them: the same units started again. */
    async startAppUnits(input: { workflowId: string }): Promise<string[]> {
      return startAppUnits(paths.runDir, input.workflowId);
    },

    /**
     * The processes other than this worker that hold atlas.db, its -wal or -shm open. Our own
     * replicator (`litestream replicate -config <home>/run/litestream.yml`) is not one to wait for:
     * every swap stops it first and starts it again after (docs/safety.md#checkpoints-and-swaps).
     */
    async atlasDbHolders(): Promise<FileHolder[]> {
      const ownReplicator = `replicate -config ${replicaFiles(paths).configFile}`;
      return databaseHolders(paths.atlasDb)
        .filter((h) => !h.command.includes(ownReplicator))
        .map((h) => ({ ...h, files: h.files.map((f) => path.basename(f)) }));
    },

    /**
     * Who did what: ops.db and logs/procedures.log, beside the workflow's own history. Once per
     * event: a retry (the worker died before reporting) finds the row by the activity's key, and
     * writes no second log line either.
     */
    async recordProcedureEvent(input: { workflowId: string; procedure: string; step: string; actor?: string; message: string }): Promise<void> {
      const inserted = ctx.opsDb()
        .prepare('INSERT OR IGNORE INTO procedure_log (at, workflow_id, procedure, step, actor, message, event_key) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(ctx.now().toISOString(), input.workflowId, input.procedure, input.step, input.actor ?? null, input.message, activityCallKey() ?? null).changes;
      if (inserted) appendLog(paths.log('procedures'), input);
    },
  };
}
