// `atlas-ops cluster up|down|status`: a PostgreSQL-backed Temporal cluster built from source, the
// tested twin of docker-compose.yml (docs/architecture.md#deployment-shapes). Everything lives in
// one directory: the state (ports, password), PostgreSQL's data, the configuration files, the logs
// and a process record per process (src/owned-process.ts), so `down` stops exactly what `up` started.
// A failed `up` stops what it had started before it reports.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { ownershipOf, recordProcess, stopRecordedProcess } from '../owned-process';
import { allocatePort, portFree } from '../ports';
import { listenersOn } from '../proc';
import { temporalClient } from '../temporal/sdk';
import { ensureSearchAttributes } from '../temporal/search-attributes';
import { ClusterError, checkReachable, initPostgres, startPostgres, tail } from './postgres';
import { renderDynamicConfig, renderServerConfig, renderUiConfig, serverStartArgs, type FrontendTls } from './server-config';
import { namespaceRegistration } from './namespace';
import { schemaSteps } from './schema';
import { CLUSTER, SERVICES, namedPorts, type ClusterPorts, type Service } from './settings';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const installer = require('../../scripts/install-temporal-cluster.js') as {
  TOOLS: Record<'server' | 'sqlTool' | 'uiServer', { ensure(): Promise<{ path: string }> }>;
  serverModuleDir(): string | undefined;
};

export { ClusterError };

/** What `up` chose once and every later command reads: the ports clients were given stay the same. */
export interface ClusterState {
  ports: ClusterPorts;
  temporalVersion: string;
  uiVersion: string;
  numHistoryShards: number;
  namespace: string;
  tls?: FrontendTls & { uiClientCert: string; uiClientKey: string };
}

export const PROCESSES = ['postgres', ...SERVICES, 'ui'] as const;
export type ClusterProcess = (typeof PROCESSES)[number];

export function defaultClusterDir(): string {
  if (process.env.ATLAS_CLUSTER_DIR) return process.env.ATLAS_CLUSTER_DIR;
  // PostgreSQL runs as an unprivileged user that must reach its data directory: not under /root.
  return process.getuid?.() === 0 ? '/var/lib/atlas-ops/cluster' : path.join(os.homedir(), '.local', 'share', 'atlas-ops', 'cluster');
}

export class ClusterPaths {
  constructor(readonly dir: string) {}
  get state() { return path.join(this.dir, 'cluster.json'); }
  get password() { return path.join(this.dir, 'postgres-password'); }
  get pgData() { return path.join(this.dir, 'pgdata'); }
  get serverConfigDir() { return path.join(this.dir, 'temporal', 'config'); }
  get dynamicConfig() { return path.join(this.dir, 'temporal', 'dynamicconfig.yaml'); }
  get uiConfigDir() { return path.join(this.dir, 'ui', 'config'); }
  log(p: ClusterProcess) { return path.join(this.dir, 'logs', `${p}.log`); }
  record(p: ClusterProcess) { return path.join(this.dir, 'run', `${p}.json`); }
}

/** The frontend address clients and workers use. */
export function frontendAddress(state: ClusterState): string {
  return `127.0.0.1:${state.ports.grpc.frontend}`;
}

export function uiUrl(state: ClusterState): string {
  return `http://127.0.0.1:${state.ports.ui}`;
}

export function readState(dir: string): ClusterState | undefined {
  try {
    return JSON.parse(fs.readFileSync(new ClusterPaths(dir).state, 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
}

export interface UpOptions {
  dir: string;
  /** Pick free ports (src/ports.ts) instead of the table's usual ones: tests, or beside another Temporal. */
  pickPorts?: boolean;
  /** Frontend TLS with client certificates (mutual TLS); the UI server connects with `uiClient*`. */
  tls?: ClusterState['tls'];
  log?: (line: string) => void;
}

async function pickedPorts(): Promise<ClusterPorts> {
  const one = () => allocatePort();
  const grpc = {} as Record<Service, number>;
  const membership = {} as Record<Service, number>;
  for (const s of SERVICES) {
    grpc[s] = await one();
    membership[s] = await one();
  }
  return { postgres: await one(), ui: await one(), grpc, membership };
}

/** Every port the cluster needs that something else holds, named: "history gRPC port 7234 (held by pid 12, temporal)". */
async function takenPorts(ports: ClusterPorts): Promise<string[]> {
  const taken: string[] = [];
  for (const { name, port } of namedPorts(ports)) {
    if (await portFree(port)) continue;
    const holders = listenersOn(port).map((l) => (l.pid ? `pid ${l.pid}${l.command ? `, ${l.command}` : ''}` : l.address));
    taken.push(`${name} ${port}${holders.length ? ` (held by ${holders.join('; ')})` : ''}`);
  }
  return taken;
}

function running(paths: ClusterPaths): ClusterProcess[] {
  return PROCESSES.filter((p) => ownershipOf(paths.record(p)).state === 'ours');
}

/** Waits until something accepts TCP connections on 127.0.0.1:`port`, or the process `pid` ends. */
async function listening(port: number, what: string, logFile: string, isAlive: () => boolean, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive()) throw new ClusterError(`${what} exited at start: ${tail(logFile, 6)}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new ClusterError(`${what} did not listen on 127.0.0.1:${port} within ${timeoutMs / 1000} s: ${tail(logFile, 6)}`);
}

/** Starts `binary args` detached, its output in its log, and records it as ours. */
function startDetached(paths: ClusterPaths, name: ClusterProcess, binary: string, args: string[], cwd: string): { pid: number; alive: () => boolean } {
  const out = fs.openSync(paths.log(name), 'a');
  const child = spawn(binary, args, { detached: true, stdio: ['ignore', out, out], cwd });
  fs.closeSync(out);
  child.unref();
  let exited = false;
  child.once('exit', () => (exited = true));
  if (!child.pid) throw new ClusterError(`could not start ${name} (${binary})`);
  recordProcess(paths.record(name), child.pid);
  return { pid: child.pid, alive: () => !exited };
}

function schemaDir(): string {
  const fromEnv = process.env.TEMPORAL_SCHEMA_DIR;
  const dir = fromEnv || (installer.serverModuleDir() && path.join(installer.serverModuleDir()!, 'schema', 'postgresql', 'v12'));
  if (!dir || !fs.existsSync(path.join(dir, 'temporal', 'versioned'))) {
    throw new ClusterError(
      `the Temporal server's PostgreSQL schema (schema/postgresql/v12) was not found${fromEnv ? ` in TEMPORAL_SCHEMA_DIR=${fromEnv}` : ' in the Go module cache'}: ` +
        'run `npm run cluster:install` (it downloads the server module), or set TEMPORAL_SCHEMA_DIR',
    );
  }
  return dir;
}

/** Creates the two databases when missing and updates their schemas to the server's (./schema.ts). */
function updateSchemas(sqlTool: string, port: number, password: string, log: (line: string) => void): void {
  const schemas = schemaDir();
  const env = { ...process.env, SQL_PASSWORD: password };
  for (const step of schemaSteps({ host: '127.0.0.1', port, schemaDir: schemas })) {
    const res = spawnSync(sqlTool, step.args, { encoding: 'utf8', env });
    const text = `${res.stdout ?? ''}${res.stderr ?? ''}`;
    if (res.status !== 0 && !(step.alreadyDone && text.includes(step.alreadyDone))) {
      const refused = /connection refused|connect: /i.test(text);
      throw new ClusterError(
        refused
          ? `PostgreSQL at 127.0.0.1:${port} refused the connection (${step.what}): is it running? See \`atlas-ops cluster status\``
          : `temporal-sql-tool ${step.what} on ${step.db} failed (exit ${res.status}): ${text.trim().split('\n').slice(-3).join(' | ')}`,
      );
    }
    if (step.what === 'update-schema') log(`schema of ${step.db} at the server's version (${schemas})`);
  }
}

async function connect(state: ClusterState): Promise<Connection> {
  const tls = state.tls
    ? {
        serverNameOverride: state.tls.serverName,
        serverRootCACertificate: fs.readFileSync(state.tls.clientCaFile),
        clientCertPair: { crt: fs.readFileSync(state.tls.uiClientCert), key: fs.readFileSync(state.tls.uiClientKey) },
      }
    : undefined;
  return temporalClient().Connection.connect({ address: frontendAddress(state), tls, connectTimeout: 5000 });
}

/** Registers the namespace (with the table's retention) and atlas-ops' search attributes; both idempotent. */
async function registerNamespace(state: ClusterState, log: (line: string) => void): Promise<void> {
  const registration = namespaceRegistration();
  const deadline = Date.now() + 120_000;
  let last: unknown;
  while (Date.now() < deadline) {
    let connection: Connection | undefined;
    try {
      connection = await connect(state);
      try {
        await connection.workflowService.registerNamespace({
          namespace: registration.namespace,
          workflowExecutionRetentionPeriod: msToTs(registration.retentionHours * 3_600_000),
        });
        log(`namespace ${registration.namespace} registered (retention ${registration.retentionHours} h)`);
      } catch (err) {
        if (!/already exists|AlreadyExists/i.test((err as Error).message)) throw err;
      }
      const added = await ensureSearchAttributes(new (temporalClient().Client)({ connection, namespace: registration.namespace }), registration.namespace);
      if (added.length) log(`search attributes added: ${added.join(', ')}`);
      await connection.close();
      return;
    } catch (err) {
      last = err;
      await connection?.close().catch(() => undefined);
      // The namespace cache of a fresh cluster takes a few seconds to see the new namespace.
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  throw new ClusterError(`the frontend at ${frontendAddress(state)} did not accept namespace ${registration.namespace}: ${(last as Error)?.message}`);
}

export interface ProcessStatus {
  name: ClusterProcess;
  state: 'running' | 'stopped' | 'unproven';
  pid?: number;
  port: number;
}

export interface ClusterStatus {
  dir: string;
  created: boolean;
  frontend?: string;
  ui?: string;
  processes: ProcessStatus[];
}

function portOf(state: ClusterState, p: ClusterProcess): number {
  if (p === 'postgres') return state.ports.postgres;
  if (p === 'ui') return state.ports.ui;
  return p === 'worker' ? state.ports.membership.worker : state.ports.grpc[p];
}

export function clusterStatus(dir: string): ClusterStatus {
  const paths = new ClusterPaths(dir);
  const state = readState(dir);
  if (!state) return { dir, created: false, processes: [] };
  return {
    dir,
    created: true,
    frontend: frontendAddress(state),
    ui: uiUrl(state),
    processes: PROCESSES.map((name) => {
      const o = ownershipOf(paths.record(name));
      const pid = o.state === 'ours' ? o.record.pid : o.state === 'unproven' ? o.pid : undefined;
      return { name, state: o.state === 'ours' ? 'running' : o.state === 'gone' ? 'stopped' : 'unproven', pid, port: portOf(state, name) };
    }),
  };
}

/** Stops every process of the cluster, newest first (the UI, the services, then PostgreSQL). */
export async function clusterDown(dir: string, log: (line: string) => void = () => undefined): Promise<ProcessStatus[]> {
  const paths = new ClusterPaths(dir);
  const out: ProcessStatus[] = [];
  const state = readState(dir);
  for (const name of [...PROCESSES].reverse()) {
    const r = await stopRecordedProcess(paths.record(name), name === 'postgres' ? 30_000 : 10_000);
    if (r.outcome === 'stopped') log(`stopped ${name} (pid ${r.pid})`);
    if (r.outcome === 'unproven') log(`left ${name} alone: ${r.reason}`);
    out.push({ name, state: r.outcome === 'unproven' ? 'unproven' : 'stopped', pid: r.pid, port: state ? portOf(state, name) : 0 });
  }
  return out;
}

/** Starts one Temporal service (`frontend`, …) from the cluster's configuration and waits for its gRPC port. */
export async function startService(dir: string, service: Service, serverBinary?: string): Promise<number> {
  const paths = new ClusterPaths(dir);
  const state = readState(dir);
  if (!state) throw new ClusterError(`no cluster in ${dir}: run \`atlas-ops cluster up --dir ${dir}\` first`);
  const binary = serverBinary ?? (await installer.TOOLS.server.ensure()).path;
  const args = serverStartArgs(path.join(dir, 'temporal'), 'cluster', service);
  const p = startDetached(paths, service, binary, args, path.join(dir, 'temporal'));
  // The worker service serves no gRPC of its own: it is up once it joined the membership ring.
  const port = service === 'worker' ? state.ports.membership.worker : state.ports.grpc[service];
  await listening(port, `the ${service} service`, paths.log(service), p.alive);
  return p.pid;
}

/** Starts PostgreSQL alone (after a stop, or a test's restart). */
export async function startClusterPostgres(dir: string): Promise<number> {
  const paths = new ClusterPaths(dir);
  const state = readState(dir);
  if (!state) throw new ClusterError(`no cluster in ${dir}`);
  const pid = await startPostgres(paths.pgData, state.ports.postgres, paths.log('postgres'));
  recordProcess(paths.record('postgres'), pid);
  return pid;
}

/**
 * Brings the cluster up: PostgreSQL (initdb once), schemas, history, matching, frontend, worker, the
 * namespace and search attributes, the UI server. Already running: nothing changes. A failure
 * stops whatever this call started, then reports.
 */
export async function clusterUp(options: UpOptions): Promise<ClusterStatus> {
  const log = options.log ?? (() => undefined);
  const dir = path.resolve(options.dir);
  const paths = new ClusterPaths(dir);
  const already = running(paths);
  if (already.length === PROCESSES.length) return clusterStatus(dir);
  if (already.length) throw new ClusterError(`the cluster in ${dir} is partly running (${already.join(', ')}): run \`atlas-ops cluster down --dir ${dir}\` first`);

  const tools = { server: await installer.TOOLS.server.ensure(), sqlTool: await installer.TOOLS.sqlTool.ensure(), ui: await installer.TOOLS.uiServer.ensure() };
  const previous = readState(dir);
  const state: ClusterState = previous ?? {
    ports: options.pickPorts ? await pickedPorts() : structuredClone(CLUSTER.ports) as ClusterPorts,
    temporalVersion: CLUSTER.temporalVersion,
    uiVersion: CLUSTER.uiVersion,
    numHistoryShards: CLUSTER.numHistoryShards,
    namespace: CLUSTER.namespace,
    tls: options.tls,
  };
  if (previous && previous.numHistoryShards !== CLUSTER.numHistoryShards) {
    throw new ClusterError(`the cluster in ${dir} was created with ${previous.numHistoryShards} history shards and the settings say ${CLUSTER.numHistoryShards}: the shard count cannot change after creation`);
  }
  const taken = await takenPorts(state.ports);
  if (taken.length) throw new ClusterError(`ports the cluster needs are taken: ${taken.join(', ')}; nothing was started`);

  fs.mkdirSync(dir, { recursive: true });
  // PostgreSQL's unprivileged user must pass through to its data directory.
  fs.chmodSync(dir, 0o711);
  checkReachable(paths.pgData);
  for (const sub of ['logs', 'run', paths.serverConfigDir, paths.uiConfigDir]) fs.mkdirSync(path.resolve(dir, sub), { recursive: true, mode: 0o700 });
  if (!fs.existsSync(paths.password)) fs.writeFileSync(paths.password, crypto.randomBytes(18).toString('base64url'), { mode: 0o600 });
  const password = fs.readFileSync(paths.password, 'utf8').trim();
  fs.writeFileSync(paths.state, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });

  try {
    initPostgres(paths.pgData, password, log);
    await startClusterPostgres(dir);
    log(`PostgreSQL on 127.0.0.1:${state.ports.postgres}`);
    updateSchemas(tools.sqlTool.path, state.ports.postgres, password, log);
    fs.writeFileSync(paths.dynamicConfig, renderDynamicConfig());
    fs.writeFileSync(path.join(paths.serverConfigDir, 'cluster.yaml'), renderServerConfig({ ports: state.ports, postgresPassword: password, dynamicConfigFile: paths.dynamicConfig, tls: state.tls }), { mode: 0o600 });
    for (const service of ['history', 'matching', 'frontend', 'worker'] as const) {
      await startService(dir, service, tools.server.path);
      log(`${service} started (gRPC 127.0.0.1:${state.ports.grpc[service]}, membership ${state.ports.membership[service]})`);
    }
    await registerNamespace(state, log);
    const uiTls = state.tls && { caFile: state.tls.clientCaFile, certFile: state.tls.uiClientCert, keyFile: state.tls.uiClientKey, serverName: state.tls.serverName };
    fs.writeFileSync(path.join(paths.uiConfigDir, 'cluster.yaml'), renderUiConfig({ port: state.ports.ui, frontend: frontendAddress(state), tls: uiTls }));
    const ui = startDetached(paths, 'ui', tools.ui.path, ['--root', path.join(dir, 'ui'), '--config', 'config', '--env', 'cluster', 'start'], path.join(dir, 'ui'));
    await listening(state.ports.ui, 'the UI server', paths.log('ui'), ui.alive);
    log(`UI at ${uiUrl(state)}`);
  } catch (err) {
    await clusterDown(dir, log);
    throw err;
  }
  return clusterStatus(dir);
}
