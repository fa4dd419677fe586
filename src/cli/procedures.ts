// Starting procedures and finding the running one, shared by the procedure commands.
import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import type { AtlasConfig } from '../config';
import { startOnce } from '../temporal/start';
import { EXIT, UsageError, link, newWorkflowId, output } from './common';
import { followProcedure, plainOutput, terminalOutput, waitUntilStarted } from './follow';

export interface StartSpec {
  workflowType: string;
  procedure: string;
  input: Record<string, unknown>;
  summary: string;
  wait?: boolean;
}

/** Starts a procedure, reports a refused start at once, and with --wait follows it to the end. */
export async function startProcedure(cmd: Command, config: AtlasConfig, client: Client, spec: StartSpec): Promise<number> {
  const workflowId = newWorkflowId(spec.procedure);
  const handle = await client.workflow.start(spec.workflowType, {
    taskQueue: config.taskQueue,
    workflowId,
    args: [spec.input],
    staticSummary: spec.summary,
    staticDetails: `Started from the atlas-ops CLI by ${process.env.USER ?? 'unknown'} with ${JSON.stringify(spec.input)}`,
  });
  const url = link(config, workflowId);
  const started = await waitUntilStarted(handle);
  if (started.failed) {
    output(cmd, { workflowId, runId: handle.firstExecutionRunId, url, started: false, error: started.failed }, () => [
      `${spec.procedure} ${workflowId} did not start: ${started.failed}`,
      `  ${url}`,
    ]);
    return EXIT.failed;
  }
  if (!spec.wait) {
    output(cmd, { workflowId, runId: handle.firstExecutionRunId, url, started: true, phase: started.status?.phase }, () => [
      `started ${spec.procedure} ${workflowId}`,
      `  ${url}`,
      `  follow: atlas-ops status ${workflowId}`,
    ]);
    return EXIT.ok;
  }
  const json = (cmd.optsWithGlobals() as { json?: boolean }).json;
  const write = (s: string) => process.stdout.write(s);
  // --json prints only the final object; a terminal gets a live line; anything else plain lines.
  const out = json ? { line: () => undefined } : process.stdout.isTTY ? terminalOutput(write) : plainOutput(write);
  out.line(`started ${spec.procedure} ${workflowId}\n  ${url}`);
  const outcome = await followProcedure(client, config, workflowId, out);
  output(cmd, { workflowId, url, exitCode: outcome.exitCode, result: outcome.result, error: outcome.error }, () =>
    outcome.error ? `${spec.procedure} ${workflowId} failed: ${outcome.error}` : `${spec.procedure} ${workflowId}: ${JSON.stringify(outcome.result, null, 2)}`,
  );
  return outcome.exitCode;
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
export async function requireProcedure(client: Client, workflowId: string, workflowType: string): Promise<void> {
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
 * with --wait follows it like startProcedure.
 */
export async function startSingleton(cmd: Command, config: AtlasConfig, client: Client, spec: StartSpec & { name: string }): Promise<number> {
  const started = await startOnce(client, config, spec.workflowType, spec.name, spec.input, spec.summary);
  const url = link(config, started.workflowId);
  const verb = started.started ? 'started' : 'already running:';
  if (!spec.wait) {
    output(cmd, { ...started, url }, () => [`${verb} ${spec.procedure} ${started.workflowId}`, `  ${url}`, `  follow: atlas-ops status ${started.workflowId}`]);
    return EXIT.ok;
  }
  const json = (cmd.optsWithGlobals() as { json?: boolean }).json;
  const print = json ? () => undefined : (line: string) => process.stdout.write(`${line}\n`);
  print(`${verb} ${spec.procedure} ${started.workflowId}\n  ${url}`);
  const outcome = await followProcedure(client, config, started.workflowId, print);
  output(cmd, { ...started, url, exitCode: outcome.exitCode, result: outcome.result, error: outcome.error }, () =>
    outcome.error ? `${spec.procedure} ${started.workflowId} failed: ${outcome.error}` : `${spec.procedure} ${started.workflowId}: ${JSON.stringify(outcome.result, null, 2)}`,
  );
  return outcome.exitCode;
}

/** The procedure the operator named, or the one running of this type; checked to be of that type. */
export async function procedureId(client: Client, given: string | undefined, workflowType: string): Promise<string> {
  const id = given ?? (await findRunning(client, workflowType));
  await requireProcedure(client, id, workflowType);
  return id;
}
