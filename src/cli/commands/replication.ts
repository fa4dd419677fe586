// atlas-ops replication status | run (docs/safety.md#continuous-replica)
import type { Command } from 'commander';
import { requireHome } from '../../config';
import { atlasPaths } from '../../paths';
import { replicationStatus, replicationStatusText } from '../../replication/status';
import { spawnLitestream } from '../../replication/replicator';
import type { Run } from '../action';
import { EXIT } from '../common';

export function registerReplication(program: Command, run: Run): void {
  const replication = program.command('replication').description('the continuous replica of atlas.db (Litestream to S3-compatible object storage)');
  replication
    .command('status')
    .description('state (running, stopped, lagging, not configured), replica, position, last sync, lag, restorable range; exit 1 unless running or not configured')
    .action(run(async (a) => {
      requireHome(a.config);
      const s = await replicationStatus(a.config, atlasPaths(a.config.home));
      a.output(s, () => replicationStatusText(s));
      return s.state === 'running' || s.state === 'not configured' ? EXIT.ok : EXIT.failed;
    }));
  replication
    .command('run')
    .description('run Litestream in the foreground with the configuration atlas-ops writes (the replicator\'s systemd service)')
    .action(run(async ({ config }) => {
      requireHome(config);
      const child = spawnLitestream(config, atlasPaths(config.home));
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
      const code = await new Promise<number>((resolve) => {
        child.once('error', (err) => {
          process.stderr.write(`atlas-ops: litestream: ${err.message}\n`);
          resolve(EXIT.failed);
        });
        child.once('exit', (c) => resolve(c ?? EXIT.failed));
      });
      return code === 0 ? EXIT.ok : EXIT.failed;
    }));
}
