// atlas-ops health | report <name> | incident start|advance | key-rotation start|installed|revoked
import type { Command } from 'commander';
import type { HealthCheckOutcome } from '../../workflows/monitoring';
import { advanceSignal } from '../../workflows/incident';
import { keyInstalledSignal, oldKeyRevokedSignal } from '../../workflows/key-rotation';
import { INCIDENT_STAGES, type IncidentStage } from '../workflow-safe/incident-stages';
import { requireHome } from '../config';
import { openOpsDb } from '../db/ops-db';
import { healthTable } from '../health/collect';
import { atlasPaths } from '../paths';
import { ALL_SCHEDULES } from '../workflow-safe/schedule-names';
import { REPORT_NAMES, REPORTS, reportName, runReport } from '../reports';
import { parseSince } from '../reports/report';
import { TemporalUnreachableError } from '../temporal/connect';
import { EXIT, UsageError, clientFor, configFor, link, newWorkflowId, output } from './common';
import { failureMessage, queryStatus } from './follow';
import { procedureId, startProcedure } from './procedures';

type Run = (fn: (cmd: Command) => Promise<number>) => (...args: unknown[]) => Promise<void>;

class NoAnswerError extends Error {}

/** How long `atlas-ops health` waits for the result before saying no worker answers. */
const HEALTH_WAIT_MS = 60_000;

/** Reports that read Temporal (visibility, schedules); the others need no server. */
const NEEDS_TEMPORAL = new Set(['performance', 'security']);

/** --pause: schedule names; a typo would otherwise leave that job running through the incident. */
function pauseList(value: string): string[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.find((n) => !(ALL_SCHEDULES as readonly string[]).includes(n));
  if (unknown !== undefined) throw new UsageError(`--pause: "${unknown}" is not a schedule (one of ${ALL_SCHEDULES.join(', ')})`);
  return names;
}

export function registerMonitoring(program: Command, run: Run): void {
  program
    .command('health')
    .description('run the health check now (the healthCheck workflow); exit 1 when a metric is out of bounds')
    .option('--verbose', 'print every metric as a table')
    .option('--deep', 'also run the daily deep check now: PRAGMA quick_check and the business metrics')
    .action(run(async (cmd) => {
      const o = cmd.opts();
      const config = configFor(cmd);
      const client = await clientFor(config);
      const workflowId = newWorkflowId('health');
      const handle = await client.workflow.start('healthCheck', {
        taskQueue: config.taskQueue,
        workflowId,
        args: [o.deep ? { deep: true } : {}],
        staticSummary: 'Health check from the CLI',
      });
      let r: HealthCheckOutcome;
      let timer: NodeJS.Timeout | undefined;
      // Without a worker the workflow just waits: say so instead of hanging.
      const noWorker = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new NoAnswerError(`health check ${workflowId} got no answer in ${HEALTH_WAIT_MS / 1000} s: is \`atlas-ops worker\` running for task queue ${config.taskQueue}? (${link(config, workflowId)})`)), HEALTH_WAIT_MS);
      });
      try {
        r = (await Promise.race([handle.result(), noWorker])) as HealthCheckOutcome;
      } catch (err) {
        if (err instanceof NoAnswerError) throw err;
        throw new Error(`health check ${workflowId} failed: ${failureMessage(err)} (${link(config, workflowId)})`);
      } finally {
        clearTimeout(timer);
      }
      output(cmd, { workflowId, ...r }, () => [
        ...(o.verbose ? [healthTable(r.metrics), ''] : []),
        r.ok ? `healthy: ${r.metrics.filter((m) => m.ok).length} metrics within bounds (${r.ms} ms)` : `UNHEALTHY: ${r.failing.map((f) => `${f.metric}=${f.value ?? 'n/a'} (${f.level})`).join(', ')}`,
        ...r.remediationsStarted.map((s) => `remediation ${s.remediation}: ${s.skipped ?? `${s.started ? 'started' : 'already running'} ${s.workflowType} ${s.workflowId}`}`),
      ]);
      return r.ok ? EXIT.ok : EXIT.failed;
    }));

  program
    .command('report')
    .description(`write one report now into <home>/reports/ (Markdown, JSON, SVG): ${REPORT_NAMES.join(', ')}`)
    .argument('<name>', REPORT_NAMES.map((n) => `${n}: ${REPORTS[n].doc}`).join('; '))
    .option('--since <when>', 'period start: a duration back ("7d", "12h") or a date ("2026-11-01")')
    .action(run(async (cmd) => {
      const [raw] = cmd.args as [string];
      const config = configFor(cmd);
      let name;
      let since: Date | undefined;
      try {
        name = reportName(raw);
        if (cmd.opts().since !== undefined) since = parseSince(String(cmd.opts().since), new Date());
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      requireHome(config);
      const paths = atlasPaths(config.home);
      const ops = openOpsDb(paths.opsDb);
      try {
        let client;
        if (NEEDS_TEMPORAL.has(name)) {
          // Without Temporal the report still runs; the parts that need it say they were not checked.
          try {
            client = await clientFor(config);
          } catch (err) {
            if (!(err instanceof TemporalUnreachableError)) throw err;
            process.stderr.write(`atlas-ops: ${err.message}; the ${name} report goes on without the Temporal parts\n`);
          }
        }
        const r = await runReport(name, { config, paths, ops, now: new Date(), since, client });
        output(cmd, r, () => [
          `${name}: ${r.summary}`,
          ...r.findings.map((f) => `  ! ${f}`),
          `  ${r.files.markdown}`,
          `  ${r.files.json}`,
          ...r.files.charts.map((c) => `  ${c}`),
        ]);
        return r.findings.length && name === 'security' ? EXIT.failed : EXIT.ok;
      } finally {
        ops.close();
      }
    }));

  const incident = program.command('incident').description('incident response: detect, assess, contain, investigate, remediate, recover, learn');
  incident
    .command('start')
    .description('declare an incident (stage detect); advance it stage by stage')
    .requiredOption('--summary <text>', 'what happened')
    .option('--by <name>', 'who declares it', process.env.USER)
    .option('--pause <schedules>', 'comma-separated schedules contain pauses (default: all but health and digest)')
    .option('--wait', 'follow it until it is closed')
    .action(run(async (cmd) => {
      const o = cmd.opts();
      const input: Record<string, unknown> = { summary: o.summary, by: o.by };
      if (o.pause) input.pause = pauseList(String(o.pause));
      const config = configFor(cmd);
      const client = await clientFor(config);
      return startProcedure(cmd, config, client, { workflowType: 'incidentResponse', procedure: 'incident', input, summary: `Incident: ${o.summary}`, wait: o.wait });
    }));
  incident
    .command('advance')
    .description('finish the current stage with a note and enter the next one')
    .argument('[workflow-id]', 'the incident (default: the running one)')
    .requiredOption('--note <text>', 'what this stage found or did (goes into the postmortem timeline)')
    .option('--by <name>', 'who', process.env.USER)
    .action(run(async (cmd) => {
      const [given] = cmd.args as [string?];
      const o = cmd.opts();
      const config = configFor(cmd);
      const client = await clientFor(config);
      const id = await procedureId(client, given, 'incidentResponse');
      const handle = client.workflow.getHandle(id);
      const status = await queryStatus(handle);
      if (!status) throw new UsageError(`incident ${id} does not answer (is it running, is a worker up?)`);
      const current = INCIDENT_STAGES.indexOf(status.phase as IncidentStage);
      if (current < 0 || current === INCIDENT_STAGES.length - 1) throw new UsageError(`incident ${id} is in phase ${status.phase}: nothing to advance`);
      const next = INCIDENT_STAGES[current + 1]!;
      await handle.signal(advanceSignal, { stage: next, note: o.note, by: o.by });
      output(cmd, { workflowId: id, from: status.phase, to: next }, () => `incident ${id}: ${status.phase} → ${next}; follow: atlas-ops status ${id}`);
      return EXIT.ok;
    }));

  const key = program.command('key-rotation').description('quarterly Sheets key rotation');
  key
    .command('start')
    .description('start a rotation: it waits for the new key, verifies it, and asks for the old one to be revoked')
    .option('--wait', 'follow it until done')
    .action(run(async (cmd) => {
      const config = configFor(cmd);
      const client = await clientFor(config);
      return startProcedure(cmd, config, client, { workflowType: 'keyRotation', procedure: 'key-rotation', input: {}, summary: 'Sheets key rotation', wait: cmd.opts().wait });
    }));
  for (const [name, signal, what] of [
    ['installed', keyInstalledSignal, 'the new key is installed as the Sheets credentials file'],
    ['revoked', oldKeyRevokedSignal, 'the old key is revoked in Google Cloud Console'],
  ] as const) {
    key
      .command(name)
      .description(`tell the running rotation: ${what}`)
      .argument('[workflow-id]', 'the rotation (default: the running one)')
      .option('--by <name>', 'who', process.env.USER)
      .option('--note <text>', 'a note')
      .action(run(async (cmd) => {
        const [given] = cmd.args as [string?];
        const config = configFor(cmd);
        const client = await clientFor(config);
        const id = await procedureId(client, given, 'keyRotation');
        await client.workflow.getHandle(id).signal(signal, { by: cmd.opts().by, note: cmd.opts().note });
        output(cmd, { workflowId: id, signalled: signal.name }, () => `${signal.name} sent to ${id}; follow: atlas-ops status ${id}`);
        return EXIT.ok;
      }));
  }
}
