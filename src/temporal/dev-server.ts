// Starts the official Temporal dev server (`temporal server start-dev`): SQLite persistence in the
// given file, the Web UI, and atlas-ops' search attributes registered at launch.
//
// Its output is watched while it starts: a listener that cannot bind, or a panic, ends the start at
// once with the server's own line (it may otherwise linger half-started). A bind race on one of its
// internal ports is retried; on a port the operator named it is reported; on ports atlas-ops picked
// (`startDevServerOnPickedPorts`) new ones are picked.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { ATLAS_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { AddressInUseError, allocatePorts, portFree, retryOnAddressInUse } from '../ports';
import { MODE } from '../file-modes';
import { ensureTemporalCli } from './cli-binary';

export interface DevServerOptions {
  port: number;
  uiPort?: number;
  /** No Web UI (tests that do not need it start faster). */
  headless?: boolean;
  dbFile: string;
  logFile?: string;
  ip?: string;
  /** Where retries are reported (default: stderr). */
  log?: (line: string) => void;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Lines of the server's output that mean it will not come up. */
const FATAL_LINE = /bind: address already in use|Failed to start|panic:|fatal error:/;
const IN_USE = /(?:\d{1,3}(?:\.\d{1,3}){3}|\[[^\]]*\]|localhost)?:(\d+): bind: address already in use/;
/** Times a start is repeated when the server lost a port it did not get from the caller to a race. */
const INTERNAL_BIND_ATTEMPTS = 3;

/** The server's output: into the log file when there is one, and its last lines kept for errors. */
class OutputWatch {
  readonly tail: string[] = [];
  fatal?: string;
  private partial = '';
  private onFatal?: () => void;

  constructor(child: ChildProcess, private readonly logFd?: number) {
    for (const stream of [child.stdout, child.stderr]) stream?.on('data', (d: Buffer) => this.take(d));
  }

  private take(d: Buffer): void {
    if (this.logFd !== undefined) fs.writeSync(this.logFd, d);
    const lines = (this.partial + d.toString()).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      this.tail.push(line);
      if (this.tail.length > 30) this.tail.shift();
      if (!this.fatal && FATAL_LINE.test(line)) {
        this.fatal = line;
        this.onFatal?.();
      }
    }
  }

  whenFatal(fn: () => void): void {
    this.onFatal = fn;
  }
}

async function waitUntilServing(address: string, child: ChildProcess, watch: OutputWatch, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  let fatalSeen = false;
  watch.whenFatal(() => (fatalSeen = true));
  while (Date.now() < deadline) {
    if (fatalSeen || watch.fatal) throw startFailure(watch.fatal!, watch);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the Temporal dev server exited with ${child.exitCode ?? child.signalCode}\n${watch.tail.slice(-15).join('\n')}`);
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.describeNamespace({ namespace: 'default' });
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      lastError = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the Temporal dev server did not answer at ${address} within ${timeoutMs / 1000} s: ${lastError}`);
}

function startFailure(line: string, watch: OutputWatch): Error {
  const inUse = IN_USE.exec(line);
  const message = `the Temporal dev server failed to start: ${line.trim()}`;
  if (inUse) return new AddressInUseError(message, Number(inUse[1]));
  return new Error(`${message}\n${watch.tail.slice(-15).join('\n')}`);
}

/** `helperPorts`: the HTTP API and metrics ports, which the server would otherwise take from the ephemeral range. */
async function launch(cliPath: string, options: DevServerOptions, helperPorts: number[]): Promise<DevServer> {
  const ip = options.ip ?? '127.0.0.1';
  const [httpPort, metricsPort] = helperPorts.map(String) as [string, string];
  const args = ['server', 'start-dev', '--ip', ip, '--port', String(options.port), '--http-port', httpPort, '--metrics-port', metricsPort];
  args.push('--db-filename', options.dbFile, '--log-level', 'warn');
  if (options.headless) args.push('--headless');
  else if (options.uiPort) args.push('--ui-port', String(options.uiPort), '--ui-ip', ip);
  for (const key of ATLAS_SEARCH_ATTRIBUTES) args.push('--search-attribute', `${key.name}=Keyword`);
  const logFd = options.logFile ? fs.openSync(options.logFile, 'a', MODE.file) : undefined;
  const child = spawn(cliPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TEMPORAL_ADDRESS: '' } });
  const watch = new OutputWatch(child, logFd);
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  void exited.then(() => logFd !== undefined && fs.closeSync(logFd));
  const address = `${ip}:${options.port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const hard = setTimeout(() => child.kill('SIGKILL'), 10_000);
      hard.unref();
      await exited;
      clearTimeout(hard);
    }
    await exited;
  };
  try {
    await waitUntilServing(address, child, watch, 90_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { address, uiUrl: options.headless ? undefined : `http://${ip}:${options.uiPort ?? options.port + 1000}`, process: child, stop };
}

/** Starts the dev server on the ports given (named by the operator, or picked by the caller). */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const cli = await ensureTemporalCli();
  const ip = options.ip ?? '127.0.0.1';
  const named: [string, number | undefined][] = [['--port', options.port], ...(options.headless ? [] : [['--ui-port', options.uiPort] as [string, number | undefined]])];
  for (const [what, port] of named) {
    if (port !== undefined && !(await portFree(port, ip))) {
      throw new AddressInUseError(`${what} ${port}: already in use on ${ip} (another Temporal server? pick another port)`, port);
    }
  }
  fs.mkdirSync(path.dirname(options.dbFile), { recursive: true });
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(cli.path, options, await allocatePorts(2, ip));
    } catch (err) {
      if (!(err instanceof AddressInUseError) || err.port === undefined) throw err;
      const ours = named.find(([, port]) => port === err.port);
      // Lost between the check above and the server's bind: the caller's to replace, or the operator's.
      if (ours) throw new AddressInUseError(`${ours[0]} ${err.port}: already in use on ${ip} (another Temporal server? pick another port)`, err.port);
      // Its HTTP and metrics ports were picked here, and its internal listeners draw from the
      // ephemeral range (a race we cannot prevent): start again, with new picks.
      if (attempt >= INTERNAL_BIND_ATTEMPTS) throw err;
      (options.log ?? ((l) => process.stderr.write(`${l}\n`)))(`${err.message}: a port the server did not get from the caller, starting it again (attempt ${attempt + 1} of ${INTERNAL_BIND_ATTEMPTS})`);
    }
  }
}

/** Starts the dev server on ports picked below the ephemeral range, picking again if one is lost to a race. */
export function startDevServerOnPickedPorts(options: Omit<DevServerOptions, 'port' | 'uiPort'>): Promise<DevServer> {
  return retryOnAddressInUse(options.headless ? 1 : 2, ([port, uiPort]) => startDevServer({ ...options, port: port!, uiPort }), {
    log: options.log,
    what: 'the Temporal dev server',
  });
}
