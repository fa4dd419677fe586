// The one table of a self-hosted Temporal cluster's values (docs/architecture.md#deployment-shapes):
// `atlas-ops cluster up` (a private PostgreSQL and the server built from source, four processes)
// and docker-compose.yml (official images, generated from this table by `npm run compose`) both
// read it, and test/deploy.test.ts fails when the committed compose files drift from it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const installer = require('../../scripts/install-temporal-cluster.js') as { TEMPORAL_SERVER_VERSION: string; TEMPORAL_UI_VERSION: string };

/** The four Temporal services, each its own process on the source-built cluster. */
export const SERVICES = ['frontend', 'history', 'matching', 'worker'] as const;
export type Service = (typeof SERVICES)[number];

export interface ClusterPorts {
  postgres: number;
  ui: number;
  /** gRPC and membership (ringpop) port of each service; the frontend's gRPC port is the one clients use. */
  grpc: Record<Service, number>;
  membership: Record<Service, number>;
}

export const CLUSTER = {
  /** The server, its SQL tool and the images, without the leading v. */
  temporalVersion: installer.TEMPORAL_SERVER_VERSION.replace(/^v/, ''),
  uiVersion: installer.TEMPORAL_UI_VERSION.replace(/^v/, ''),
  /** PostgreSQL major version: Debian's on these machines, and the compose image's. */
  postgresVersion: 15,
  /**
   * History shards: fixed when the cluster's database is created and never changeable after. Each
   * workflow belongs to one shard; more shards mean more parallel history work and more database
   * rows polled. 4 is plenty for one or a few Atlas hosts (README "From one VM to a cluster").
   */
  numHistoryShards: 4,
  namespace: 'default',
  /** How long closed workflow histories are kept. */
  retention: '30d',
  database: { user: 'temporal', name: 'temporal', visibility: 'temporal_visibility', plugin: 'postgres12' },
  /** Temporal's usual ports, which docker-compose.yml and a cluster brought up without --pick-ports use. */
  ports: {
    postgres: 5432,
    ui: 8080,
    grpc: { frontend: 7233, history: 7234, matching: 7235, worker: 7239 },
    membership: { frontend: 6933, history: 6934, matching: 6935, worker: 6939 },
  } satisfies ClusterPorts,
} as const;

/** Every port of `ports` with the name an error message uses for it ("history membership port 6934"). */
export function namedPorts(ports: ClusterPorts): { name: string; port: number }[] {
  return [
    { name: 'PostgreSQL port', port: ports.postgres },
    ...SERVICES.flatMap((s) => [
      { name: `${s} gRPC port`, port: ports.grpc[s] },
      { name: `${s} membership port`, port: ports.membership[s] },
    ]),
    { name: 'UI port', port: ports.ui },
  ];
}

/** `30d` → hours, as the namespace registration takes them (./namespace.ts). */
export function retentionHours(retention: string = CLUSTER.retention): number {
  const m = /^(\d+)([dh])$/.exec(retention);
  if (!m) throw new Error(`cluster retention "${retention}": expected days (30d) or hours (72h)`);
  return Number(m[1]) * (m[2] === 'd' ? 24 : 1);
}
