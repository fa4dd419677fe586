// Activities on the host's own state: the maintenance flag, the atlas.db lock that keeps
// procedures which change atlas.db to one at a time, sqlite-web, and the procedure log.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { which } from '../src/command-runner';
import { hostTaskQueue } from '../src/config';
import { appendLog } from '../src/log';
import type { ActivityContext } from './deps';
import { failure } from '../src/workflow-safe/failures';

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
  defaults: { editTimeout: number; reminderInterval: number; drainTimeout: number; decisionTimeout: number };
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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs on the workflow task queue: tells a procedure where this host's activities run. */
export function createContextActivities(ctx: ActivityContext) {
  return {
    async procedureContext(): Promise<ProcedureContext> {
      const c = ctx.config;
      return {
        host: c.host,
        hostQueue: hostTaskQueue(c),
        defaults: { ...c.maintenance },
        atlasDb: ctx.paths.atlasDb,
        sqliteWebPort: c.sqliteWeb.port,
        sheetsConfigured: c.sheets.spreadsheetId !== '',
      };
    },
  };
}

export function createHostActivities(ctx: ActivityContext) {
  const { paths } = ctx;
  const sqliteWebPid = () => path.join(paths.runDir, 'sqlite-web.pid');

  return {
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
              `only one such procedure runs at a time. Finish or abort it first (atlas-ops status ${row.holder}).`,
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
      fs.mkdirSync(paths.dataDir, { recursive: true });
      fs.writeFileSync(paths.maintenanceFlag, `${JSON.stringify({ workflowId: input.workflowId, reason: input.reason, since: ctx.now().toISOString() })}\n`);
      return paths.maintenanceFlag;
    },

    async clearMaintenanceFlag(): Promise<boolean> {
      const existed = fs.existsSync(paths.maintenanceFlag);
      fs.rmSync(paths.maintenanceFlag, { force: true });
      return existed;
    },

    /** Starts sqlite-web on 127.0.0.1 only; when it is not installed, says which command to use instead. */
    async startSqliteWeb(input: { port: number }): Promise<{ started: boolean; url?: string; hint: string }> {
      const sqliteCmd = `sqlite3 ${paths.atlasDb}`;
      const pidFile = sqliteWebPid();
      if (fs.existsSync(pidFile)) {
        const pid = Number(fs.readFileSync(pidFile, 'utf8'));
        if (pid && alive(pid) && (await portOpen(input.port))) {
          return { started: true, url: `http://127.0.0.1:${input.port}`, hint: `ssh -L ${input.port}:127.0.0.1:${input.port} <vm>, then browse http://localhost:${input.port}` };
        }
      }
      const bin = which('sqlite_web');
      if (!bin) return { started: false, hint: `sqlite-web is not installed (pip install sqlite-web); edit with: ${sqliteCmd}` };
      if (await portOpen(input.port)) {
        return { started: false, hint: `port 127.0.0.1:${input.port} is already in use; edit with: ${sqliteCmd}` };
      }
      fs.mkdirSync(paths.runDir, { recursive: true });
      fs.mkdirSync(paths.logsDir, { recursive: true });
      const out = fs.openSync(paths.log('sqlite-web'), 'a');
      const child = spawn(bin, ['--host', '127.0.0.1', '--port', String(input.port), '--no-browser', paths.atlasDb], {
        detached: true,
        stdio: ['ignore', out, out],
      });
      fs.closeSync(out);
      child.unref();
      fs.writeFileSync(pidFile, String(child.pid));
      for (let i = 0; i < 100; i++) {
        if (await portOpen(input.port)) {
          return { started: true, url: `http://127.0.0.1:${input.port}`, hint: `ssh -L ${input.port}:127.0.0.1:${input.port} <vm>, then browse http://localhost:${input.port}` };
        }
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      return { started: false, hint: `sqlite-web did not start (see logs/sqlite-web.log); edit with: ${sqliteCmd}` };
    },

    async stopSqliteWeb(): Promise<boolean> {
      const pidFile = sqliteWebPid();
      if (!fs.existsSync(pidFile)) return false;
      const pid = Number(fs.readFileSync(pidFile, 'utf8'));
      if (pid && alive(pid)) {
        try {
          process.kill(-pid, 'SIGTERM');
        } catch {
          process.kill(pid, 'SIGTERM');
        }
        for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
        if (alive(pid)) process.kill(pid, 'SIGKILL');
      }
      fs.rmSync(pidFile, { force: true });
      return true;
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
