// Whether the source-built cluster (src/cluster/) can be had on this machine: PostgreSQL's server
// binaries, and the Temporal server built or Go to build it. The cluster tests skip, naming what is
// missing, only then.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLUSTER } from '../../src/cluster/settings';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const installer = require('../../scripts/install-temporal-cluster.js') as { TOOLS: Record<string, { find(): unknown }> };

export function clusterUnavailable(): string | undefined {
  const pgBin = process.env.ATLAS_POSTGRES_BIN ?? `/usr/lib/postgresql/${CLUSTER.postgresVersion}/bin`;
  if (!fs.existsSync(path.join(pgBin, 'postgres'))) return `PostgreSQL ${CLUSTER.postgresVersion} server binaries are not in ${pgBin} (apt-get install postgresql-${CLUSTER.postgresVersion})`;
  const built = Object.values(installer.TOOLS).every((tool) => tool.find());
  if (!built && spawnSync('go', ['version']).status !== 0) return 'Go is missing and the Temporal server is not built (npm run cluster:install on a machine with Go)';
  return undefined;
}
