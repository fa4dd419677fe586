// The Temporal server's and the UI server's configuration files for a source-built cluster, from
// the settings table (./settings.ts) and the ports the cluster took. One server configuration for
// all four services: each process is started with `start --service <name>` and finds the others
// through the membership table in PostgreSQL.
import { CLUSTER, SERVICES, type ClusterPorts } from './settings';

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

export interface ServerConfigInput {
  ports: ClusterPorts;
  postgresPassword: string;
  dynamicConfigFile: string;
  tls?: FrontendTls;
}

function datastore(database: string, password: string, port: number, maxConns: number) {
  return {
    sql: {
      pluginName: CLUSTER.database.plugin,
      databaseName: database,
      connectAddr: `127.0.0.1:${port}`,
      connectProtocol: 'tcp',
      user: CLUSTER.database.user,
      password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  };
}

/** The server's YAML (holds the database password: written 0600). */
export function renderServerConfig(input: ServerConfigInput): string {
  const { ports, tls } = input;
  const services = Object.fromEntries(
    SERVICES.map((s) => [s, { rpc: { grpcPort: ports.grpc[s], membershipPort: ports.membership[s], bindOnIP: '127.0.0.1' } }]),
  );
  const config = {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'default',
      visibilityStore: 'visibility',
      numHistoryShards: CLUSTER.numHistoryShards,
      datastores: {
        default: datastore(CLUSTER.database.name, input.postgresPassword, ports.postgres, 20),
        visibility: datastore(CLUSTER.database.visibility, input.postgresPassword, ports.postgres, 4),
      },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
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
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `127.0.0.1:${ports.grpc.frontend}` } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: input.dynamicConfigFile, pollInterval: '10s' },
  };
  return `# Written by atlas-ops cluster up from src/cluster/settings.ts; rewritten at every start.\n${stringify(config)}`;
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
