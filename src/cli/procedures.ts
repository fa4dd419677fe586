// Starting procedures and finding the running one, shared by the procedure commands.
import { Option } from 'commander';
import type { Client } from '@temporalio/client';
import { hostTaskQueue } from '../config';
import { homeRefusedBeforeStart } from '../target';
import { startOnce, startWorkflow, type WorkflowInput, type WorkflowType, type Workflows } from '../temporal/start';
import { activityPollers } from '../temporal/task-queue';
import { unservedQueueMessage } from '../workflow-safe/host-queue';
import type { Action } from './action';
import { EXIT, UsageError, globals, jsonLines, link, nameOption, newWorkflowId } from './common';
import { followProcedure, plainOutput, terminalOutput, waitUntilStarted, type Outcome } from './follow';
import { shellQuote } from '../workflow-safe/shell-quote';

/** Any command's Action: the procedure helpers read only the global flags, config and client. */
type AnyAction = Action<unknown, unknown[]>;

export interface StartSpec<T extends WorkflowType> {
  /** The workflow's registered name; `input` is checked against that workflow's parameter. */
  workflowType: T;
  /** The word in messages and the workflow id's prefix: "maintenance", "key-rotation". */
  procedure: string;
  input: WorkflowInput<Workflows[T]>;
  summary: string;
  wait?: boolean;
}

/** `--host` of the commands that start a procedure (read by startProcedure and startSingleton). */
export function hostOption(): Option {
  return new Option('--host <name>', "run the procedure's host steps on this Atlas host's worker (queue <taskQueue>@<name>); refused when no worker serves it").argParser(nameOption('--host'));
}

/**
 * The input with the host queue of `--host`, refused (exit 2, nothing started) when no worker polls
 * it: a procedure sent there would wait for its first host step. Without --host the configured host's
 * queue is used unchecked, since its worker may be starting beside the command; the procedure's
 * host steps time out on it instead (maintenance.hostQueueTimeout).
 */
async function withHostQueue<I>(a: AnyAction, client: Client, input: I): Promise<I> {
  const host = (a.opts as { host?: unknown }).host;
  if (typeof host !== 'string') return input;
  const queue = hostTaskQueue({ taskQueue: a.config.taskQueue, host });
  if (!(await activityPollers(client, queue)).length) throw new UsageError(`--host ${host}: ${unservedQueueMessage(queue)}; nothing was started`);
  return { ...input, hostQueue: queue };
}

/**
 * A start's input with the home the operator named (--home, else the configuration's), which the
 * procedure's worker must serve (src/target.ts), and the host queue (--host, else the configured
 * host's): on a cluster several hosts' workers serve the shared queue, and the procedure must run
 * its host steps on the host the command was run for, not on whichever answers
 * (docs/safety.md#the-home-and-host-asked). When the workers polling that queue are known to serve another home,
 * refused here (exit 2) before anything starts.
 */
export async function withTargetHome<T extends WorkflowType>(a: AnyAction, input: WorkflowInput<Workflows[T]>): Promise<WorkflowInput<Workflows[T]>> {
  const { config } = a;
  const queue = (input as { hostQueue?: string }).hostQueue ?? hostTaskQueue(config);
  const refused = await homeRefusedBeforeStart(await a.client(), queue, config.home);
  if (refused) throw new UsageError(refused);
  // Every workflow's input table has the common fields `home` and `hostQueue` (workflows/lib/input.ts).
  return { ...input, home: config.home, hostQueue: queue } as WorkflowInput<Workflows[T]>;
}

/** Starts a procedure, reports a refused start at once, and with --wait follows it to the end. */
export async function startProcedure<T extends WorkflowType>(a: AnyAction, spec: StartSpec<T>): Promise<number> {
  const { config } = a;
  const client = await a.client();
  const input = await withTargetHome<T>(a, await withHostQueue(a, client, spec.input));
  const workflowId = newWorkflowId(spec.procedure);
  const handle = await startWorkflow(client, spec.workflowType, input, {
    taskQueue: config.taskQueue,
    workflowId,
    staticSummary: spec.summary,
    staticDetails: `Started from the atlas-ops CLI by ${process.env.USER ?? 'unknown'} with ${JSON.stringify(input)}`,
  });
  const url = link(config, workflowId);
  const started = await waitUntilStarted(handle);
  if (started.failed) {
    a.output({ workflowId, runId: handle.firstExecutionRunId, url, started: false, error: started.failed }, () => [
      `${spec.procedure} ${workflowId} did not start: ${started.failed}`,
      `  ${url}`,
    ]);
    return EXIT.failed;
  }
  if (!spec.wait) {
    a.output({ workflowId, runId: handle.firstExecutionRunId, url, started: true, phase: started.status?.phase }, () => [
      `started ${spec.procedure} ${workflowId}`,
      `  ${url}`,
      `  follow: atlas-ops status ${shellQuote(workflowId)}`,
    ]);
    return EXIT.ok;
  }
  // --json prints only the final object; a terminal gets a live line; anything else plain lines.
  const write = (s: string) => process.stdout.write(s);
  const out = globals(a.cmd).json ? { line: () => undefined } : process.stdout.isTTY ? terminalOutput(write) : plainOutput(write);
  out.line(`started ${spec.procedure} ${workflowId}`);
  out.line(`  ${url}`);
  const outcome = await followProcedure(client, config, workflowId, out);
  a.output({ workflowId, url, exitCode: outcome.exitCode, result: outcome.result, error: outcome.error }, () => outcomeLines(`${spec.procedure} ${workflowId}`, outcome));
  return outcome.exitCode;
}

/** How a followed procedure ended: its failure, or its result as indented JSON after `head`. */
function outcomeLines(head: string, outcome: Outcome): string[] {
  if (outcome.error) return [`${head} failed: ${outcome.error}`];
  const [first, ...rest] = jsonLines(outcome.result ?? null);
  return [`${head}: ${first}`, ...rest];
}

/** The one running procedure of this kind, when the operator gave no id. */
export async function findRunning(client: Client, procedure: string): Promise<string> {
  const ids: string[] = [];
  for await (const wf of client.workflow.list({ query: `AtlasProcedure = '${procedure}' AND ExecutionStatus = 'Running'` })) {
    ids.push(wf.workflowId);
  }
  if (ids.length === 1) return ids[0]!;
  if (!ids.length) throw new UsageError(`no ${procedure} procedure is running (give its workflow id if it just started)`);
  throw new UsageError(`${ids.length} ${procedure} procedures are running (${ids.join(', ')}): name one`);
}

/** Checks that `workflowId` exists and is a procedure of this kind. */
export async function requireProcedure(client: Client, workflowId: string, workflowType: WorkflowType): Promise<void> {
  let type: string;
  try {
    type = (await client.workflow.getHandle(workflowId).describe()).type;
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') throw new UsageError(`workflow ${workflowId} does not exist`);
    throw err;
  }
  if (type !== workflowType) throw new UsageError(`workflow ${workflowId} is a ${type}, not a ${workflowType}`);
}

/**
 * Starts a singleton procedure (fixed id, src/temporal/start.ts) or joins the one running, and
 * with --wait follows it like startProcedure. A start the procedure refuses (another procedure
 * holds atlas.db, wrong input) is reported like startProcedure's: exit 1 with the reason, which
 * names the procedure in the way.
 */
export async function startSingleton<T extends WorkflowType>(a: AnyAction, spec: StartSpec<T> & { name: string; next?: string }): Promise<number> {
  const { config } = a;
  const client = await a.client();
  const input = await withTargetHome<T>(a, await withHostQueue(a, client, spec.input));
  const started = await startOnce<Workflows[T]>(client, config, spec.workflowType, spec.name, input, spec.summary);
  const url = link(config, started.workflowId);
  if (started.started) {
    const { failed } = await waitUntilStarted(client.workflow.getHandle(started.workflowId));
    if (failed) {
      a.output({ ...started, url, started: false, error: failed }, () => [`${spec.procedure} ${started.workflowId} did not start: ${failed}`, `  ${url}`]);
      return EXIT.failed;
    }
  }
  const verb = started.started ? 'started' : 'already running:';
  if (!spec.wait) {
    a.output({ ...started, url }, () => [`${verb} ${spec.procedure} ${started.workflowId}`, `  ${url}`, `  follow: atlas-ops status ${shellQuote(started.workflowId)}`, ...(spec.next ? [`  ${spec.next}`] : [])]);
    return EXIT.ok;
  }
  const out = globals(a.cmd).json ? { line: () => undefined } : plainOutput((s) => process.stdout.write(s));
  out.line(`${verb} ${spec.procedure} ${started.workflowId}`);
  out.line(`  ${url}`);
  const outcome = await followProcedure(client, config, started.workflowId, out);
  a.output({ ...started, url, exitCode: outcome.exitCode, result: outcome.result, error: outcome.error }, () => outcomeLines(`${spec.procedure} ${started.workflowId}`, outcome));
  return outcome.exitCode;
}

/** The procedure the operator named, or the one running of this type; checked to be of that type. */
export async function procedureId(client: Client, given: string | undefined, workflowType: WorkflowType): Promise<string> {
  const id = given ?? (await findRunning(client, workflowType));
  await requireProcedure(client, id, workflowType);
  return id;
}

/**
 * Sends an update that the workflow validates and prints its answer. A refusal (the validator's
 * message) exits 2: the procedure did not change.
 */
export async function sendUpdate(
  a: AnyAction,
  workflowId: string,
  what: string,
  send: () => Promise<string>,
  acceptedText: (message: string) => string = (message) => message,
): Promise<number> {
  try {
    const message = await send();
    a.output({ workflowId, accepted: true, message }, () => acceptedText(message));
    return EXIT.ok;
  } catch (err) {
    // `send` has already said what was wrong with the command (decide: no such workflow).
    if (err instanceof UsageError) throw err;
    const message = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
    a.output({ workflowId, accepted: false, error: message }, () => `${what} refused: ${message}`);
    return EXIT.usage;
  }
}
