// The Temporal server's and the UI server's configuration files for a source-built cluster, from
// the settings table (./settings.ts) and the ports the cluster took. One server configuration for
// all four services: each process is started with `start --service <name>` and finds the others
// through the membership table in PostgreSQL.
import { CLUSTER, SERVICES, type ClusterPorts, type Service } from './settings';

/** yaml, loaded when a file is written: the CLI loads this module for every command (docs/performance.md#cli-start-up). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const stringify = (value: unknown): string => (require('yaml') as typeof import('yaml')).stringify(value);

export interface FrontendTls {
  /** The frontend's certificate and key (PEM files); also what the internal services present to it. */
  certFile: string;
  keyFile: string;
  /** CA that signs the client certificates the frontend accepts (mutual TLS). */
  clientCaFile: string;
  /** Name in the frontend's certificate, for the internal services' connections to it. */
  serverName: string;
}

/** Where the services listen and find each other and PostgreSQL. */
export interface ServerNetwork {
  postgresHost: string;
  /** The address every service's gRPC and membership listeners bind to. */
  bindOnIP: string;
  /** The IP a service announces in the membership ring: the server accepts an IP only (net.ParseIP), not a host name. */
  broadcastAddress: string;
  /** How the services and clients reach the frontend (the cluster's rpcAddress). */
  frontendHost: string;
}

/** `atlas-ops cluster up`: everything on 127.0.0.1. */
export const LOOPBACK: ServerNetwork = { postgresHost: '127.0.0.1', bindOnIP: '127.0.0.1', broadcastAddress: '127.0.0.1', frontendHost: '127.0.0.1' };

export interface ServerConfigInput {
  ports: ClusterPorts;
  /** The password itself (cluster up, file written 0600), or a template expression (see `header`). */
  postgresPassword: string;
  dynamicConfigFile: string;
  tls?: FrontendTls;
  network?: ServerNetwork;
  /** Comment lines at the top; one containing "enable-template" makes the server render the file as a Go template first (common/config/loader.go). */
  header?: string[];
}

function datastore(database: string, password: string, host: string, port: number, maxConns: number) {
  return {
    sql: {
      pluginName: CLUSTER.database.plugin,
      databaseName: database,
      connectAddr: `${host}:${port}`,
      connectProtocol: 'tcp',
      user: CLUSTER.database.user,
      password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  };
}

/**
 * How one service is started: `temporal-server` reads `<root>/config/<env>.yaml` and serves only
 * `service` (cluster up: root = the cluster's temporal directory, env cluster; compose: the mounted
 * deploy/compose/temporal, env atlas).
 */
export function serverStartArgs(root: string, env: string, service: Service): string[] {
  return ['--root', root, '--config', 'config', '--env', env, '--allow-no-auth', 'start', '--service', service];
}

/** The server's YAML (holds the database password: written 0600). */
export function renderServerConfig(input: ServerConfigInput): string {
  const { ports, tls } = input;
  const net = input.network ?? LOOPBACK;
  const services = Object.fromEntries(
    SERVICES.map((s) => [s, { rpc: { grpcPort: ports.grpc[s], membershipPort: ports.membership[s], bindOnIP: net.bindOnIP } }]),
  );
  const config = {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'default',
      visibilityStore: 'visibility',
      numHistoryShards: CLUSTER.numHistoryShards,
      datastores: {
        default: datastore(CLUSTER.database.name, input.postgresPassword, net.postgresHost, ports.postgres, 20),
        visibility: datastore(CLUSTER.database.visibility, input.postgresPassword, net.postgresHost, ports.postgres, 4),
      },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: net.broadcastAddress },
      ...(tls
        ? {
            tls: {
              frontend: {
                server: { certFile: tls.certFile, keyFile: tls.keyFile, requireClientAuth: true, clientCaFiles: [tls.clientCaFile] },
                client: { serverName: tls.serverName, rootCaFiles: [tls.clientCaFile] },
              },
              // The services' own calls to the frontend (the system worker, namespace lookups)
              // must present a client certificate too: the frontend's.
              systemWorker: {
                certFile: tls.certFile,
                keyFile: tls.keyFile,
                client: { serverName: tls.serverName, rootCaFiles: [tls.clientCaFile] },
              },
            },
          }
        : {}),
    },
    services,
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `${net.frontendHost}:${ports.grpc.frontend}` } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: input.dynamicConfigFile, pollInterval: '10s' },
  };
  const header = input.header ?? ['Written by atlas-ops cluster up from src/cluster/settings.ts; rewritten at every start.'];
  return `${header.map((l) => `# ${l}`.trimEnd()).join('\n')}\n${stringify(config)}`;
}

/** Dynamic configuration: a restarted service is back within seconds, and shards move quickly. */
export function renderDynamicConfig(): string {
  return stringify({
    'frontend.enableUpdateWorkflowExecution': [{ value: true }],
    'frontend.enableUpdateWorkflowExecutionAsyncAccepted': [{ value: true }],
    'system.forceSearchAttributesCacheRefreshOnRead': [{ value: true }],
  });
}

export interface UiConfigInput {
  port: number;
  frontend: string;
  /** The CA of the frontend and a client certificate, when the frontend requires mutual TLS. */
  tls?: { caFile: string; certFile: string; keyFile: string; serverName: string };
}

export function renderUiConfig(input: UiConfigInput): string {
  return stringify({
    temporalGrpcAddress: input.frontend,
    host: '127.0.0.1',
    port: input.port,
    enableUi: true,
    defaultNamespace: CLUSTER.namespace,
    cors: { allowOrigins: [`http://127.0.0.1:${input.port}`] },
    ...(input.tls
      ? { tls: { caFile: input.tls.caFile, certFile: input.tls.certFile, keyFile: input.tls.keyFile, serverName: input.tls.serverName, enableHostVerification: true } }
      : {}),
  });
}
