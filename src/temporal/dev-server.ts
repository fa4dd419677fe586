// Starts the official Temporal dev server (`temporal server start-dev`): SQLite persistence in the
// given file, the Web UI, and atlas-ops' search attributes registered at launch.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { ATLAS_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { ensureTemporalCli } from './cli-binary';

export interface DevServerOptions {
  port: number;
  uiPort?: number;
  /** No Web UI (tests that do not need it start faster). */
  headless?: boolean;
  dbFile: string;
  logFile?: string;
  ip?: string;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export function portFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** A port the OS says is free now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitUntilServing(address: string, child: ChildProcess, timeoutMs: number, logFile?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      const tail = logFile && fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
      throw new Error(`the Temporal dev server exited with code ${child.exitCode}\n${tail}`);
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

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const cli = await ensureTemporalCli();
  const ip = options.ip ?? '127.0.0.1';
  for (const [what, port] of [['--port', options.port], ['--ui-port', options.uiPort]] as const) {
    if (port !== undefined && !(options.headless && what === '--ui-port') && !(await portFree(port, ip))) {
      throw new Error(`${what} ${port}: already in use on ${ip} (another Temporal server? pick another port)`);
    }
  }
  fs.mkdirSync(path.dirname(options.dbFile), { recursive: true });
  const args = ['server', 'start-dev', '--ip', ip, '--port', String(options.port), '--db-filename', options.dbFile, '--log-level', 'warn'];
  if (options.headless) args.push('--headless');
  else if (options.uiPort) args.push('--ui-port', String(options.uiPort), '--ui-ip', ip);
  for (const key of ATLAS_SEARCH_ATTRIBUTES) args.push('--search-attribute', `${key.name}=Keyword`);
  const out = options.logFile ? fs.openSync(options.logFile, 'a') : 'ignore';
  const child = spawn(cli.path, args, { stdio: ['ignore', out, out], env: { ...process.env, TEMPORAL_ADDRESS: '' } });
  if (typeof out === 'number') fs.closeSync(out);
  const address = `${ip}:${options.port}`;
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    });
  try {
    await waitUntilServing(address, child, 90_000, options.logFile);
  } catch (err) {
    await stop();
    throw err;
  }
  return { address, uiUrl: options.headless ? undefined : `http://${ip}:${options.uiPort ?? options.port + 1000}`, process: child, stop };
}
