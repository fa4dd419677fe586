// atlas-ops health [--verbose] [--deep]
import type { Command } from 'commander';
import type { HealthCheckOutcome } from '../../../workflows/monitoring';
import { healthTable } from '../../health/collect';
import { startWorkflow } from '../../temporal/start';
import type { Action, Run } from '../action';
import { ALWAYS_WAITS, EXIT, link, newWorkflowId } from '../common';
import { failureMessage } from '../follow';
import { withTargetHome } from '../procedures';

class NoAnswerError extends Error {}

/** How long `atlas-ops health` waits for the result before saying no worker answers. */
const HEALTH_WAIT_MS = 60_000;

export function registerHealth(program: Command, run: Run): void {
  program
    .command('health')
    .description('run the health check now (the healthCheck workflow); exit 1 when a metric is out of bounds')
    .option('--verbose', 'print every metric as a table')
    .option('--deep', 'also run the daily deep check now: PRAGMA quick_check and the business metrics')
    .option('--wait', ALWAYS_WAITS)
    .action(run<{ verbose?: true; deep?: true }>(async (a) => {
      const { workflowId, outcome: r } = await runHealthCheck(a);
      a.output({ workflowId, ...r }, () => [
        ...(a.opts.verbose ? [...healthTable(r.metrics).split('\n'), ''] : []),
        r.ok ? `healthy: ${r.metrics.filter((m) => m.ok).length} metrics within bounds (${r.ms} ms)` : `UNHEALTHY: ${r.failing.map((f) => `${f.metric}=${f.value ?? 'n/a'} (${f.level})`).join(', ')}`,
        ...r.remediationsStarted.map((s) => `remediation ${s.remediation}: ${s.skipped ?? `${s.started ? 'started' : 'already running'} ${s.workflowType} ${s.workflowId}`}`),
        ...(r.incident.alerts.length ? [`incident ${r.incident.workflowId}: ${r.incident.alerts.map((x) => x.code).join(', ')} (atlas-ops status ${r.incident.workflowId})`] : []),
        ...(r.incident.error ? [`alerts not handed to an incident: ${r.incident.error}`] : []),
      ]);
      return r.ok ? EXIT.ok : EXIT.failed;
    }));
}

/** Starts healthCheck and waits for its outcome, at most HEALTH_WAIT_MS. */
async function runHealthCheck(a: Action<{ deep?: true }, unknown[]>): Promise<{ workflowId: string; outcome: HealthCheckOutcome }> {
  const { config } = a;
  const client = await a.client();
  const workflowId = newWorkflowId('health');
  const handle = await startWorkflow(client, 'healthCheck', await withTargetHome<'healthCheck'>(a, a.opts.deep ? { deep: true } : {}), {
    taskQueue: config.taskQueue,
    workflowId,
    staticSummary: 'Health check from the CLI',
  });
  let timer: NodeJS.Timeout | undefined;
  // Without a worker the workflow just waits: say so instead of hanging.
  const noWorker = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new NoAnswerError(`health check ${workflowId} got no answer in ${HEALTH_WAIT_MS / 1000} s: is \`atlas-ops worker\` running for task queue ${config.taskQueue}? (${link(config, workflowId)})`)), HEALTH_WAIT_MS);
  });
  try {
    return { workflowId, outcome: await Promise.race([handle.result(), noWorker]) };
  } catch (err) {
    if (err instanceof NoAnswerError) throw err;
    throw new Error(`health check ${workflowId} failed: ${failureMessage(err)} (${link(config, workflowId)})`);
  } finally {
    clearTimeout(timer);
  }
}
