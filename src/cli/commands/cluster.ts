// atlas-ops cluster up | down | status: the PostgreSQL-backed Temporal cluster built from source
// (src/cluster/cluster.ts; docs/architecture.md#deployment-shapes).
import type { Command } from 'commander';
import { CLUSTER } from '../../cluster/settings';
import { clusterDown, clusterStatus, clusterUp, defaultClusterDir, type ClusterStatus } from '../../cluster/cluster';
import type { Run } from '../action';
import { EXIT } from '../common';

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
    .action(run<DirOpts & { pickPorts?: boolean }>(async (a) => {
      const log = (line: string) => process.stderr.write(`atlas-ops cluster: ${line}\n`);
      const s = await clusterUp({ dir: a.opts.dir, pickPorts: a.opts.pickPorts, log });
      a.output(s, () => statusLines(s));
      return EXIT.ok;
    }));

  cluster
    .command('down')
    .description('stop every process of the cluster (the data stays; `up` starts it again)')
    .option(...dirOption)
    .action(run<DirOpts>(async (a) => {
      const stopped = await clusterDown(a.opts.dir, (line) => process.stderr.write(`atlas-ops cluster: ${line}\n`));
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
