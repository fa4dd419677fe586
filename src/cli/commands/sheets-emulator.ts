// atlas-ops sheets-emulator serve | show | set | fault | stats
import fs from 'node:fs';
import type { Command } from 'commander';
import type { AtlasConfig } from '../../config';
import { emulatorStateFile, emulatorUrlFile, EmulatorStore, startHomeEmulator } from '../../sheets-emulator';
import { FAULT_KINDS, FAULT_TARGETS, parseFault } from '../../sheets-emulator/faults';
import { isLoopback } from '../../sheets/client';
import { TAB } from '../../sheets/layout';
import type { Run } from '../action';
import { EXIT, UsageError, jsonLines, parsePortOption } from '../common';

export function registerSheetsEmulator(program: Command, run: Run): void {
  const emu = program.command('sheets-emulator').description('the local Sheets API emulator (state in <home>/sheets-emulator.json)');
  serveCommand(emu, run);
  showCommand(emu, run);
  setCommand(emu, run);
  faultCommand(emu, run);
  statsCommand(emu, run);
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

function serveCommand(emu: Command, run: Run): void {
  emu
    .command('serve')
    .description('run the emulator on 127.0.0.1 (atlas-ops dev starts one itself)')
    .option('--port <port>', 'port (default: a free one)', parsePortOption('--port', { anyFree: true }), 0)
    .option('--spreadsheet <id>', 'spreadsheet to create with the Approvals, Tasks and Status tabs')
    .action(run<{ port: number; spreadsheet?: string }>(async (a) => {
      const { config } = a;
      const server = await startHomeEmulator(config.home, { port: a.opts.port, spreadsheetId: a.opts.spreadsheet ?? (config.sheets.spreadsheetId || undefined) });
      a.output({ url: server.url, spreadsheetId: server.spreadsheetId, state: emulatorStateFile(config.home) }, () => [
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
}

function showCommand(emu: Command, run: Run): void {
  emu
    .command('show')
    .description('print a tab (or range) as the emulator holds it')
    .argument('[range]', 'A1 range', TAB.approvals)
    .option('--spreadsheet <id>', 'spreadsheet id (default: the configured or only one)')
    .action(run<{ spreadsheet?: string }, [string?]>(async (a) => {
      const [range = TAB.approvals] = a.args;
      const store = emulatorStore(a.config);
      const id = spreadsheetIn(store, a.config, a.opts.spreadsheet);
      let data;
      try {
        data = store.read(id, range, 'FORMULA');
      } catch (err) {
        throw new UsageError(`${range}: ${(err as Error).message}`);
      }
      a.output(data, () => [data.range, ...(data.values ?? []).map((row, i) => `${String(i + 1).padStart(4)}  ${row.map((c) => String(c)).join(' | ')}`)]);
      return EXIT.ok;
    }));
}

function setCommand(emu: Command, run: Run): void {
  emu
    .command('set')
    .description("type into a cell as a person would (USER_ENTERED), e.g. set 'Approvals!G2' approve")
    .argument('<cell>', 'A1 cell, e.g. Approvals!G2')
    .argument('<value>', 'what to type')
    .option('--spreadsheet <id>', 'spreadsheet id (default: the configured or only one)')
    .action(run<{ spreadsheet?: string }, [string, string]>(async (a) => {
      const [cell, value] = a.args;
      const store = emulatorStore(a.config);
      const id = spreadsheetIn(store, a.config, a.opts.spreadsheet);
      let info;
      try {
        info = store.write(id, cell, [[value]], 'USER_ENTERED');
      } catch (err) {
        throw new UsageError(`${cell}: ${(err as Error).message}`);
      }
      a.output(info, () => `${info.updatedRange} = ${JSON.stringify(value)}`);
      return EXIT.ok;
    }));
}

/** The `sheets-emulator fault` option for each field of parseFault. */
const FAULT_OPTIONS: Record<string, string> = { count: '--count', on: '--on', retryAfterSeconds: '--retry-after', latencyMs: '--latency' };

interface FaultOptions {
  count: string;
  on?: string;
  retryAfter?: string;
  latency?: string;
}

function faultCommand(emu: Command, run: Run): void {
  emu
    .command('fault')
    .description(`make the running emulator fail the next calls: ${FAULT_KINDS.join(', ')}; or "clear"`)
    .argument('<kind>')
    .option('--count <n>', 'how many calls ("always" until cleared)', '1')
    .option('--on <calls>', `only these calls: ${FAULT_TARGETS.join(' or ')} (default: any)`)
    .option('--retry-after <seconds>', '429 and 5xx: Retry-After')
    .option('--latency <ms>', 'latency: delay')
    .action(run<FaultOptions, [string]>(async (a) => {
      const [kind] = a.args;
      const o = a.opts;
      const { config } = a;
      if (kind === 'clear') {
        const body = await emulatorAdmin(config, 'faults', { method: 'DELETE' });
        a.output(body, () => 'faults cleared');
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
      a.output(body, () => `fault set: ${kind} for ${o.count} ${spec.on ? `${spec.on} ` : ''}call(s)`);
      return EXIT.ok;
    }));
}

function statsCommand(emu: Command, run: Run): void {
  emu
    .command('stats')
    .description('requests the running emulator has answered')
    .action(run(async (a) => {
      const body = await emulatorAdmin(a.config, 'stats');
      a.output(body, () => jsonLines(body));
      return EXIT.ok;
    }));
}
