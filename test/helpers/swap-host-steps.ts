// Option C's host steps alone (src/volume-swap.ts: stash, unmount, the UUID, mount, unstash), for
// test/sandboxed-worker.test.ts to run under the worker unit's sandbox with the configuration the unit
// gives, as the worker's activities would. Prints one JSON line: what each step returned, or the
// failure (type and message) that stopped them. The device is SWAP_DEVICE.
import { loadConfig } from '../../src/config';
import { atlasPaths } from '../../src/paths';
import { mountByUuid, stash, unmount, unstash, uuidOf } from '../../src/volume-swap';

async function main(): Promise<void> {
  const steps: [string, unknown][] = [];
  try {
    const config = loadConfig();
    const paths = atlasPaths(config.home);
    const none = () => undefined;
    steps.push(['config', { mountPoint: config.oci.mountPoint, swapStashDir: config.oci.swapStashDir, mountUnit: config.oci.mountUnit, umountUnit: config.oci.umountUnit }]);
    steps.push(['stash', await stash(config, paths, none, none)]);
    steps.push(['unmount', await unmount(config)]);
    const uuid = await uuidOf(process.env.SWAP_DEVICE!);
    steps.push(['mount', { uuid, ...(await mountByUuid(config, uuid)) }]);
    steps.push(['unstash', await unstash(config, paths, none, none)]);
    console.log(JSON.stringify({ ok: true, steps }));
  } catch (err) {
    const e = err as Error & { type?: string };
    console.log(JSON.stringify({ ok: false, steps, type: e.type ?? e.name, message: e.message }));
  }
}

void main();
