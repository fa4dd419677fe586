// `npx tsx src/oci-emulator/main.ts [--port 8100] [--volume <ocid>] [--instance <ocid>]`: the OCI emulator for a dev
// stack; point atlas-ops at it with ATLAS_OCI_ENDPOINT=http://127.0.0.1:<port>.
import { useOwnUmask } from '../file-modes';
import { startOciEmulator } from './server';

async function main(): Promise<void> {
  useOwnUmask();
  const args = process.argv.slice(2);
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const volumeId = opt('--volume') ?? 'ocid1.volume.oc1.emulator.atlas-home';
  // With an instance, the volume is attached to it, as on the VM (Option C's swap: oci.instanceId).
  const instanceId = opt('--instance');
  const emulator = await startOciEmulator({
    port: Number(opt('--port') ?? 8100),
    availableAfterMs: Number(opt('--available-after-ms') ?? 5000),
    attachmentDelayMs: Number(opt('--attachment-delay-ms') ?? 5000),
    volumes: [{ id: volumeId }],
    ...(instanceId ? { instances: [{ id: instanceId }], attachments: [{ volumeId, instanceId, device: '/dev/oracleoci/oraclevdb' }] } : {}),
  });
  process.stdout.write(`OCI emulator on ${emulator.url} (volume ${volumeId})\nATLAS_OCI_ENDPOINT=${emulator.url} ATLAS_OCI_VOLUME_ID=${volumeId}\n`);
  const stop = () => void emulator.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

void main();
