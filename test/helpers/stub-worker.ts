// A worker that runs the real workflow bundle against small in-test activities that record their
// calls: the procedure rules (decisions, reminders, undo) are exercised in seconds, without an Atlas
// home, and each test scripts only the activity whose behaviour it is about.
import { inject } from 'vitest';
import { Context } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { HostActivities, WorkflowQueueActivities } from '../../activities';
import type { ProcedureContext } from '../../activities/host';
import { ensureSearchAttributes } from '../../src/temporal/search-attributes';
import { uid } from './env';

type Activities = HostActivities & WorkflowQueueActivities;
export type ActivityName = keyof Activities;
/** An activity's stand-in: the real input type, any result the workflow can read. */
export type Stub<K extends ActivityName = ActivityName> = (...args: Parameters<Activities[K]>) => Promise<unknown> | unknown;
export type Stubs = { [K in ActivityName]?: Stub<K> };

export interface Call {
  workflowId: string;
  name: ActivityName;
  input: unknown;
}

export interface StubWorker {
  client: Client;
  taskQueue: string;
  /** Every activity call so far, in order, of one workflow. */
  calls(workflowId: string): Call[];
  names(workflowId: string): ActivityName[];
  /** Replaces some activities for one workflow only (tests of one file share the worker). */
  script(workflowId: string, stubs: Stubs): void;
  stop(): Promise<void>;
}

export interface StubWorkerOptions {
  /** What every workflow gets unless it is scripted otherwise. */
  defaults: Stubs;
  /** The procedure context, with this worker's queue as the host queue. */
  context?: Partial<ProcedureContext>;
}

export async function startStubWorker(options: StubWorkerOptions): Promise<StubWorker> {
  const address = inject('temporalAddress');
  const taskQueue = `atlas-stub-${uid()}`;
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: 'default' });
  // Procedures upsert atlas-ops' search attributes: the namespace must know them before a task runs.
  await ensureSearchAttributes(client, 'default');
  const context: ProcedureContext = {
    host: 'stub-host',
    hostQueue: taskQueue,
    defaults: { editTimeout: 3_600_000, reminderInterval: 3_600_000, drainTimeout: 60_000, decisionTimeout: 3_600_000, hostQueueTimeout: 120_000 },
    swap: { pollInterval: 1_000, pageAfter: 3_600_000, timeout: 3_600_000 },
    recovery: { pageAfter: 3_600_000, personTimeout: 3_600_000, attachPageAfter: 3_600_000, attachTimeout: 3_600_000 },
    incident: { pageAfter: 3_600_000, stageTimeout: 7_200_000 },
    atlasDb: '/nonexistent/atlas.db',
    sqliteWebPort: 0,
    sheetsConfigured: false,
    ...options.context,
  };
  const all: Call[] = [];
  const scripts = new Map<string, Stubs>();
  const stubs: Stubs = { procedureContext: () => context, hostQueueServed: () => true, ...options.defaults };
  // One function per known name; a scripted stub wins over the default.
  const activities = Object.fromEntries(
    (Object.keys(stubs) as ActivityName[]).map((name) => [
      name,
      async (input: unknown) => {
        const workflowId = Context.current().info.workflowExecution?.workflowId ?? '(no workflow)';
        all.push({ workflowId, name, input });
        const fn = (scripts.get(workflowId)?.[name] ?? stubs[name]) as (input: unknown) => unknown;
        return fn(input);
      },
    ]),
  );
  const native = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection: native,
    namespace: 'default',
    taskQueue,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    activities,
  });
  const running = worker.run();
  const calls = (workflowId: string) => all.filter((c) => c.workflowId === workflowId);
  return {
    client,
    taskQueue,
    calls,
    names: (workflowId) => calls(workflowId).map((c) => c.name),
    script(workflowId, s) {
      const unknown = Object.keys(s).filter((name) => !(name in stubs));
      // The worker registers its activities once: a name it lacks would fail the task forever.
      if (unknown.length) throw new Error(`no default stub for ${unknown.join(', ')}: add it to the worker's defaults`);
      scripts.set(workflowId, s);
    },
    async stop() {
      worker.shutdown();
      await running;
      await native.close();
      await connection.close();
    },
  };
}
