// atlas-ops sync export|import|health · doctor sheets · sheets-outage start|restored|abort ·
// sheets-emulator serve|show|set|fault|stats
import fs from 'node:fs';
import type { Command } from 'commander';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { SyncRunResult } from '../../activities/sheets';
import { restoredSignal } from '../../workflows/sheets-outage';
import { abortSignal } from '../../workflows/lib/procedure';
import { requireHome, type AtlasConfig } from '../config';
import { parseDuration } from '../workflow-safe/duration';
import { openOpsDb } from '../db/ops-db';
import { atlasPaths } from '../paths';
import { emulatorStateFile, emulatorUrlFile, EmulatorStore, startHomeEmulator } from '../sheets-emulator';
import { FAULT_KINDS, FAULT_TARGETS, parseFault } from '../sheets-emulator/faults';
import { TAB } from '../sheets/layout';
import { syncHealth } from '../sheets/runs';
import { OUTAGE_SINGLETON, OUTAGE_WORKFLOW } from '../workflow-safe/singletons';
import { singletonId, startOnce } from '../temporal/start';
import { EXIT, UsageError, clientFor, configFor, link, newWorkflowId, output, parsePortOption } from './common';
import { failureMessage, followProcedure } from './follow';

type Run = (fn: (cmd: Command) => Promise<number>) => (...args: unknown[]) => Promise<void>;

async function runSyncWorkflow(cmd: Command, workflowType: 'sheetsExport' | 'sheetsImport', input: Record<string, unknown>): Promise<number> {
  const config = configFor(cmd);
  const client = await clientFor(config);
  const workflowId = newWorkflowId(workflowType === 'sheetsExport' ? 'sheets-export' : 'sheets-import');
  const handle = await client.workflow.start(workflowType, {
    taskQueue: config.taskQueue,
    workflowId,
    args: [input],
    staticSummary: `${workflowType} from the CLI ${JSON.stringify(input)}`,
  });
  const url = link(config, workflowId);
  let result: SyncRunResult;
  try {
    result = (await handle.result()) as SyncRunResult;
  } catch (err) {
    const error = failureMessage(err);
    output(cmd, { workflowId, url, ok: false, error }, () => [`${workflowType} ${workflowId} failed: ${error}`, `  ${url}`]);
    return EXIT.failed;
  }
  output(cmd, { workflowId, url, ok: true, result }, () => {
    if (result.skipped) return `${workflowType} ${workflowId}: skipped (maintenance flag set; nothing done)`;
    const lines = [
      `${workflowType} ${workflowId}${result.dryRun ? ' (dry run: nothing changed)' : ''}`,
      `  rows read ${result.rowsRead}, rows written ${result.rowsWritten}, Sheets API requests ${result.requests}`,
    ];
    if (result.direction === 'export') lines.push(`  added ${result.added ?? 0}, updated ${result.updated ?? 0}${result.tabsCreated?.length ? `, tabs created ${result.tabsCreated.join(', ')}` : ''}`);
    else if (result.unchanged) lines.push('  the sheet has not changed since the last import (use --force-check to compare every row)');
    else lines.push(`  applied ${result.applied ?? 0}, already applied ${result.alreadyApplied ?? 0}, not applied ${result.notApplied ?? 0}${result.transactionMs !== undefined ? `, transaction ${result.transactionMs} ms` : ''}`);
    for (const c of result.changes) lines.push(`  ${result.dryRun ? 'would ' : ''}${c}`);
    lines.push(`  ${url}`);
    return lines;
  });
  return EXIT.ok;
}

function emulatorStore(config: AtlasConfig): EmulatorStore {
  return new EmulatorStore(emulatorStateFile(config.home));
}

function spreadsheetIn(store: EmulatorStore, config: AtlasConfig, given?: string): string {
  const id = given ?? (config.sheets.spreadsheetId || undefined);
  const all = store.list().map((s) => s.spreadsheetId);
  if (id) {
    if (!all.includes(id)) throw new UsageError(`--spreadsheet: "${id}" is not in ${emulatorStateFile(config.home)} (it has: ${all.join(', ') || 'none'})`);
    return id;
  }
  if (all.length === 1) return all[0]!;
  throw new UsageError(`name the spreadsheet with --spreadsheet (${emulatorStateFile(config.home)} has: ${all.join(', ') || 'none; run atlas-ops dev or sheets-emulator serve'})`);
}

/** The emulator to talk to: the configured loopback endpoint, else the one running for this home. */
function emulatorUrl(config: AtlasConfig): string {
  // Required here, not imported at the top: the Sheets client loads googleapis (most of a second),
  // which the other commands do not need. import() would bypass the tsx require hook.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { isLoopback } = require('../sheets/client') as typeof import('../sheets/client');
  let url = config.sheets.rootUrl;
  if (!isLoopback(url) && fs.existsSync(emulatorUrlFile(config.home))) url = fs.readFileSync(emulatorUrlFile(config.home), 'utf8').trim();
  if (!isLoopback(url)) throw new UsageError(`no emulator: sheets.rootUrl is ${config.sheets.rootUrl} and no emulator runs for ${config.home} (start atlas-ops dev or sheets-emulator serve)`);
  return url.endsWith('/') ? url : `${url}/`;
}

async function emulatorAdmin(config: AtlasConfig, what: string, init: RequestInit = {}): Promise<unknown> {
  const base = emulatorUrl(config);
  let res: Response;
  try {
    res = await fetch(`${base}__emulator/${what}`, { ...init, signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new Error(`the emulator at ${base} does not answer (${(err as Error).message}); is \`atlas-ops dev\` or \`atlas-ops sheets-emulator serve\` running, and ATLAS_SHEETS_ROOT_URL set to it?`);
  }
  const body = (await res.json()) as { error?: { message?: string } };
  if (!res.ok) throw new UsageError(body.error?.message ?? `emulator answered HTTP ${res.status}`);
  return body;
}

/** The `sheets-emulator fault` option for each field of parseFault. */
const FAULT_OPTIONS: Record<string, string> = { count: '--count', on: '--on', retryAfterSeconds: '--retry-after', latencyMs: '--latency' };

export function registerSheets(program: Command, run: Run): void {
  const sync = program.command('sync').description('Google Sheets sync (the atlas-export / atlas-import schedules run the same workflows)');
  sync
    .command('export')
    .description('export pending approvals to the sheet (sheetsExport)')
    .option('--full', 'rewrite every atlas-owned cell and re-add missing pending approvals (--full-sync)')
    .option('--dry-run', 'print what would change and change nothing')
    .action(run(async (cmd) => {
      const o = cmd.opts();
      return runSyncWorkflow(cmd, 'sheetsExport', { full: o.full === true, dryRun: o.dryRun === true });
    }));
  sync
    .command('import')
    .description('apply decisions typed in the sheet to atlas.db (sheetsImport)')
    .option('--force-check', 'compare every row with atlas.db even if the sheet has not changed')
    .option('--dry-run', 'print what would be applied and change nothing')
    .action(run(async (cmd) => {
      const o = cmd.opts();
      return runSyncWorkflow(cmd, 'sheetsImport', { forceCheck: o.forceCheck === true, dryRun: o.dryRun === true });
    }));
  sync
    .command('health')
    .description('check-sync-health: success rate, last success and lag of each direction (exit 1 when unhealthy)')
    .option('--hours <n>', 'window', '24')
    .action(run(async (cmd) => {
      const config = configFor(cmd);
      requireHome(config);
      const hours = Number(cmd.opts().hours);
      if (!Number.isFinite(hours) || hours <= 0) throw new UsageError(`--hours: "${cmd.opts().hours}" is not a positive number`);
      const db = openOpsDb(atlasPaths(config.home).opsDb);
      let h;
      try {
        h = syncHealth(db, new Date(), config.thresholds.syncSuccessPercent, hours * 3_600_000);
      } finally {
        db.close();
      }
      const pct = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(1)} %`);
      output(cmd, h, () => [
        `sync ${h.healthy ? 'healthy' : 'UNHEALTHY'}: success ${pct(h.successPercent)} over ${h.windowHours} h (threshold ${config.thresholds.syncSuccessPercent} %)`,
        ...h.directions.map((d) => `  ${d.direction}: ${d.runs} runs (${d.ok} ok, ${d.failed} failed, ${d.skipped} skipped), last success ${d.lastSuccess ?? 'never'}${d.lagMs !== undefined ? ` (${Math.round(d.lagMs / 60_000)} min ago)` : ''}${d.lastError ? `\n    last error: ${d.lastError}` : ''}`),
        ...h.problems.map((p) => `  problem: ${p}`),
      ]);
      return h.healthy ? EXIT.ok : EXIT.failed;
    }));

  const doctor = program.commands.find((c) => c.name() === 'doctor') ?? program.command('doctor').description('diagnose a part of the system');
  doctor
    .command('sheets')
    .description('test-sheets-auth: DNS, TCP, HTTPS, credentials and the spreadsheet; --permissions also reads and writes')
    .option('--permissions', 'test-sheets-permissions: read the Approvals header and write an unchanged Status cell')
    .action(run(async (cmd) => {
      const config = configFor(cmd);
      // Required here, as in emulatorUrl: it loads googleapis.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { checkConnectivity } = require('../sheets/doctor') as typeof import('../sheets/doctor');
      const report = await checkConnectivity(config, { permissions: cmd.opts().permissions === true });
      output(cmd, report, () => [
        ...report.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name.padEnd(11)} ${c.detail} (${c.ms} ms)`),
        report.ok ? 'Sheets: ok' : `Sheets: failing at ${report.failed}${report.errorType ? ` (${report.errorType})` : ''}`,
      ]);
      return report.ok ? EXIT.ok : EXIT.failed;
    }));

  const outage = program.command('sheets-outage').description('the Google Sheets API outage procedure (sheetsOutage)');
  outage
    .command('start')
    .description('verify connectivity, pause sync, alert, poll until the API is back, catch up, unpause')
    .option('--reason <text>', 'why', 'started by the operator')
    .option('--by <name>', 'who starts it', process.env.USER)
    .option('--poll-intervals <list>', 'growing poll intervals, e.g. 1m,2m,5m,10m (the last repeats)')
    .option('--wait', 'follow progress until done')
    .action(run(async (cmd) => {
      const o = cmd.opts();
      const input: Record<string, unknown> = { reason: o.reason, requestedBy: o.by };
      if (o.pollIntervals) {
        input.pollIntervals = String(o.pollIntervals).split(',').map((d: string) => {
          try {
            parseDuration(d, '--poll-intervals');
          } catch (err) {
            throw new UsageError((err as Error).message);
          }
          return d.trim();
        });
      }
      const config = configFor(cmd);
      const client = await clientFor(config);
      const started = await startOnce(client, config, OUTAGE_WORKFLOW, OUTAGE_SINGLETON, input, `Sheets outage: ${o.reason}`);
      const url = link(config, started.workflowId);
      if (!o.wait) {
        output(cmd, { ...started, url }, () => [`${started.started ? 'started' : 'already running:'} sheetsOutage ${started.workflowId}`, `  ${url}`, `  when the API is back: atlas-ops sheets-outage restored`]);
        return EXIT.ok;
      }
      const print = (cmd.optsWithGlobals() as { json?: boolean }).json ? () => undefined : (line: string) => process.stdout.write(`${line}\n`);
      const outcome = await followProcedure(client, config, started.workflowId, print);
      output(cmd, { workflowId: started.workflowId, url, ...outcome }, () => (outcome.error ? `sheetsOutage failed: ${outcome.error}` : JSON.stringify(outcome.result, null, 2)));
      return outcome.exitCode;
    }));
  for (const [name, description] of [
    ['restored', 'tell the running outage procedure the API is back (it checks, then catches up)'],
    ['abort', 'stop the outage procedure: it unpauses the sync schedules it paused and resolves its alert'],
  ] as const) {
    outage
      .command(name)
      .description(description)
      .option('--by <name>', 'who', process.env.USER)
      .option('--note <text>', 'why')
      .action(run(async (cmd) => {
        const o = cmd.opts();
        const config = configFor(cmd);
        const client = await clientFor(config);
        const id = singletonId(config, OUTAGE_SINGLETON);
        const handle = client.workflow.getHandle(id);
        try {
          if ((await handle.describe()).status.name !== 'RUNNING') throw new UsageError(`no sheets outage procedure is running (${id} has ended)`);
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) throw new UsageError(`no sheets outage procedure is running (${id} does not exist)`);
          throw err;
        }
        if (name === 'restored') await handle.signal(restoredSignal, { by: o.by, note: o.note });
        else await handle.signal(abortSignal, { by: o.by, note: o.note });
        output(cmd, { workflowId: id, signalled: name }, () => `${name} sent to ${id}; follow: atlas-ops status ${id}`);
        return EXIT.ok;
      }));
  }

  const emu = program.command('sheets-emulator').description('the local Sheets API emulator (state in <home>/sheets-emulator.json)');
  emu
    .command('serve')
    .description('run the emulator on 127.0.0.1 (atlas-ops dev starts one itself)')
    .option('--port <port>', 'port (default: a free one)', parsePortOption('--port', { anyFree: true }), 0)
    .option('--spreadsheet <id>', 'spreadsheet to create with the Approvals, Tasks and Status tabs')
    .action(run(async (cmd) => {
      const o = cmd.opts();
      const config = configFor(cmd);
      const server = await startHomeEmulator(config.home, { port: o.port, spreadsheetId: o.spreadsheet ?? (config.sheets.spreadsheetId || undefined) });
      output(cmd, { url: server.url, spreadsheetId: server.spreadsheetId, state: emulatorStateFile(config.home) }, () => [
        `Sheets emulator on ${server.url} (state ${emulatorStateFile(config.home)})`,
        `  export ATLAS_SHEETS_ROOT_URL=${server.url} ATLAS_SHEETS_SPREADSHEET_ID=${server.spreadsheetId}`,
      ]);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await server.close();
      return EXIT.ok;
    }));
  emu
    .command('show')
    .description('print a tab (or range) as the emulator holds it')
    .argument('[range]', 'A1 range', TAB.approvals)
    .option('--spreadsheet <id>', 'spreadsheet id (default: the configured or only one)')
    .action(run(async (cmd) => {
      const [range = TAB.approvals] = cmd.args as [string?];
      const config = configFor(cmd);
      const store = emulatorStore(config);
      const id = spreadsheetIn(store, config, cmd.opts().spreadsheet);
      let data;
      try {
        data = store.read(id, range, 'FORMULA');
      } catch (err) {
        throw new UsageError(`${range}: ${(err as Error).message}`);
      }
      output(cmd, data, () => [data.range, ...(data.values ?? []).map((row, i) => `${String(i + 1).padStart(4)}  ${row.map((c) => String(c)).join(' | ')}`)]);
      return EXIT.ok;
    }));
  emu
    .command('set')
    .description("type into a cell as a person would (USER_ENTERED), e.g. set 'Approvals!G2' approve")
    .argument('<cell>', 'A1 cell, e.g. Approvals!G2')
    .argument('<value>', 'what to type')
    .option('--spreadsheet <id>', 'spreadsheet id (default: the configured or only one)')
    .action(run(async (cmd) => {
      const [cell, value] = cmd.args as [string, string];
      const config = configFor(cmd);
      const store = emulatorStore(config);
      const id = spreadsheetIn(store, config, cmd.opts().spreadsheet);
      let info;
      try {
        info = store.write(id, cell, [[value]], 'USER_ENTERED');
      } catch (err) {
        throw new UsageError(`${cell}: ${(err as Error).message}`);
      }
      output(cmd, info, () => `${info.updatedRange} = ${JSON.stringify(value)}`);
      return EXIT.ok;
    }));
  emu
    .command('fault')
    .description(`make the running emulator fail the next calls: ${FAULT_KINDS.join(', ')}; or "clear"`)
    .argument('<kind>')
    .option('--count <n>', 'how many calls ("always" until cleared)', '1')
    .option('--on <calls>', `only these calls: ${FAULT_TARGETS.join(' or ')} (default: any)`)
    .option('--retry-after <seconds>', '429 and 5xx: Retry-After')
    .option('--latency <ms>', 'latency: delay')
    .action(run(async (cmd) => {
      const [kind] = cmd.args as [string];
      const o = cmd.opts();
      const config = configFor(cmd);
      if (kind === 'clear') {
        const body = await emulatorAdmin(config, 'faults', { method: 'DELETE' });
        output(cmd, body, () => 'faults cleared');
        return EXIT.ok;
      }
      let spec;
      try {
        spec = parseFault({ kind, count: o.count, on: o.on, retryAfterSeconds: o.retryAfter, latencyMs: o.latency });
      } catch (err) {
        // parseFault names the admin endpoint's fields; say the options the operator typed.
        throw new UsageError((err as Error).message.replace(/^\w+(?=:)/, (field) => FAULT_OPTIONS[field] ?? field));
      }
      const body = await emulatorAdmin(config, 'faults', { method: 'POST', body: JSON.stringify({ ...spec, count: spec.count === Infinity ? 'always' : spec.count }) });
      output(cmd, body, () => `fault set: ${kind} for ${o.count} ${spec.on ? `${spec.on} ` : ''}call(s)`);
      return EXIT.ok;
    }));
  emu
    .command('stats')
    .description('requests the running emulator has answered')
    .action(run(async (cmd) => {
      const body = await emulatorAdmin(configFor(cmd), 'stats');
      output(cmd, body, () => JSON.stringify(body, null, 2));
      return EXIT.ok;
    }));
}
