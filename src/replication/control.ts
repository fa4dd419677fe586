// Stopping and starting the replicator around what Litestream must not see happen under it
// (docs/safety.md#checkpoints-and-swaps): a checkpoint atlas-ops runs itself and every swap of
// atlas.db. In production the replicator is the systemd unit replica.unit (through the command
// runner); under `atlas-ops dev` and in tests it is the in-process supervisor.
import { replicaConfigured, type AtlasConfig } from '../config';
import type { AtlasPaths } from '../paths';
import { commandFailure, runCommand } from '../command-runner';
import { grant } from '../deployed-privileges';
import { failure } from '../workflow-safe/failures';
import { litestream } from './litestream';
import type { Replicator } from './replicator';

export interface ReplicatorControl {
  /** Stops Litestream (idempotent). */
  pause(): Promise<void>;
  /**
   * Starts it again (idempotent). After a swap, `litestream reset` first clears its local state of
   * the replaced file: it then ships a snapshot of the new atlas.db as the next TXID, and the
   * replica goes on from the restored database (Litestream 0.5's equivalent of a new generation).
   */
  resume(options: { swapped: boolean }): Promise<void>;
}

export function replicatorControl(config: AtlasConfig, paths: AtlasPaths, inProcess?: Replicator): ReplicatorControl | undefined {
  if (!replicaConfigured(config)) return undefined;
  const systemctl = async (verb: 'stop' | 'start') => {
    const r = await runCommand('systemctl', [verb, config.replica.unit], { timeoutMs: 60_000 });
    if (r.code !== 0) throw commandFailure(r, grant.systemctl(config.replica.unit));
  };
  const pause = () => (inProcess ? inProcess.pause() : systemctl('stop'));
  return {
    pause,
    async resume({ swapped }) {
      if (swapped) {
        await pause();
        const r = await litestream(config, paths, ['reset', paths.atlasDb], 60_000);
        if (r.code !== 0) throw failure.CommandFailed(`litestream reset ${paths.atlasDb} exited ${r.code}: ${r.stderr.trim().slice(0, 300)}`);
      }
      if (inProcess) inProcess.resume();
      else await systemctl('start');
    },
  };
}
