// atlas-ops cluster up | down | status: the PostgreSQL-backed Temporal cluster built from source
// (src/cluster/cluster.ts; docs/architecture.md#deployment-shapes).
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { CLUSTER } from '../../cluster/settings';
import { clusterDown, clusterStatus, clusterUp, defaultClusterDir, type ClusterStatus, type UpOptions } from '../../cluster/cluster';
import type { Run } from '../action';
import { EXIT, UsageError } from '../common';

interface DirOpts {
  dir: string;
}

function statusLines(s: ClusterStatus): string[] {
  if (!s.created) return [`no cluster in ${s.dir} (atlas-ops cluster up --dir ${s.dir})`];
  return [
    `cluster in ${s.dir}: Temporal ${CLUSTER.temporalVersion}, ${CLUSTER.numHistoryShards} history shards, namespace ${CLUSTER.namespace}`,
    `  frontend ${s.frontend}   UI ${s.ui}`,
    ...s.processes.map((p) => `  ${p.name.padEnd(9)} ${p.state.padEnd(9)} ${p.pid ? `pid ${p.pid}` : ''}${p.port ? `  port ${p.port}` : ''}`),
  ];
}

/** A line of progress on stderr, so --json output on stdout stays one document. */
const progress = (line: string) => process.stderr.write(`atlas-ops cluster: ${line}\n`);

const TLS_FILES = ['ca.pem', 'server.pem', 'server-key.pem', 'ui.pem', 'ui-key.pem'] as const;

/** The frontend's TLS files in `dir`; a missing one is bad input naming it. */
function tlsFromDir(dir: string, serverName: string): UpOptions['tls'] {
  const file = (name: (typeof TLS_FILES)[number]) => {
    const p = path.resolve(dir, name);
    if (!fs.existsSync(p)) throw new UsageError(`--tls ${dir}: ${p} is missing (expected ${TLS_FILES.join(', ')})`);
    return p;
  };
  return { clientCaFile: file('ca.pem'), certFile: file('server.pem'), keyFile: file('server-key.pem'), uiClientCert: file('ui.pem'), uiClientKey: file('ui-key.pem'), serverName };
}

export function registerCluster(program: Command, run: Run): void {
  const cluster = program
    .command('cluster')
    .description('a PostgreSQL-backed Temporal cluster built from source: frontend, history, matching and worker as separate processes, and the UI');
  const dirOption = ['--dir <path>', 'the cluster\'s directory (state, PostgreSQL data, configuration, logs)', defaultClusterDir()] as const;

  cluster
    .command('up')
    .description('start the cluster (created on first use: initdb, schemas, namespace, search attributes); already running: nothing changes')
    .option(...dirOption)
    .option('--pick-ports', 'take free ports instead of Temporal\'s usual ones (7233, 8080, 5432, …) when the cluster is created')
    .option('--tls <dir>', `mutual TLS on the frontend when the cluster is created: ${TLS_FILES.join(', ')} in <dir> (the CA signs the server's and the clients' certificates)`)
    .option('--tls-server-name <name>', 'the name in server.pem that clients check', 'localhost')
    .action(run<DirOpts & { pickPorts?: boolean; tls?: string; tlsServerName: string }>(async (a) => {
      const tls = a.opts.tls === undefined ? undefined : tlsFromDir(a.opts.tls, a.opts.tlsServerName);
      const s = await clusterUp({ dir: a.opts.dir, pickPorts: a.opts.pickPorts, tls, log: progress });
      a.output(s, () => statusLines(s));
      return EXIT.ok;
    }));

  cluster
    .command('down')
    .description('stop every process of the cluster (the data stays; `up` starts it again)')
    .option(...dirOption)
    .action(run<DirOpts>(async (a) => {
      const stopped = await clusterDown(a.opts.dir, progress);
      a.output({ dir: a.opts.dir, processes: stopped }, () => [`cluster in ${a.opts.dir} stopped`]);
      return EXIT.ok;
    }));

  cluster
    .command('status')
    .description('what runs, on which ports (exit 1 when a process is not running)')
    .option(...dirOption)
    .action(run<DirOpts>(async (a) => {
      const s = clusterStatus(a.opts.dir);
      a.output(s, () => statusLines(s));
      return s.created && s.processes.every((p) => p.state === 'running') ? EXIT.ok : EXIT.failed;
    }));
}
