// The one port allocator for every server atlas-ops starts on a port it picks itself: the Temporal
// dev server in tests and benchmarks, the Sheets and OCI emulators, the test servers.
//
// Why not `listen(0)` or "ask the OS for a free port": the kernel hands those out from its
// ephemeral range (/proc/sys/net/ipv4/ip_local_port_range), the range every outgoing connection and
// the dev server's own internal services draw from, so between "this port is free" and the bind
// someone else can take it. Ports here come from below that range, in disjoint blocks per process
// slot, so two test workers never hand out the same port; each is still checked by binding before
// it is handed out, and a server that loses the race anyway is restarted on new ports (see
// `retryOnAddressInUse`). A port the operator named is never replaced (docs/testing.md#ports).
import fs from 'node:fs';
import net from 'node:net';

export interface PortRange {
  /** First port, inclusive. */
  low: number;
  /** Last port, inclusive. */
  high: number;
}

/** Linux's default, for machines where the range cannot be read. */
export const DEFAULT_EPHEMERAL: PortRange = { low: 32768, high: 60999 };
/** Below this are the well-known and commonly configured ports (7233, 8080, 8233 …): never picked. */
export const FIRST_PICKED_PORT = 10_000;
/** Slots 0..RESERVED_SLOTS-1 are given explicitly (test setup, test workers); other processes hash their pid above them. */
export const RESERVED_SLOTS = 8;
export const SLOTS = 32;

export function ephemeralRange(file = '/proc/sys/net/ipv4/ip_local_port_range'): PortRange {
  try {
    const [low, high] = fs.readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && low! > 0 && low! <= high!) return { low: low!, high: high! };
  } catch {
    // Not Linux, or /proc is hidden (a sandbox): the usual default.
  }
  return DEFAULT_EPHEMERAL;
}

/** The ports slot `slot` of `SLOTS` may hand out: a block below the ephemeral range. */
export function blockFor(slot: number, ephemeral: PortRange = ephemeralRange()): PortRange {
  if (!Number.isInteger(slot) || slot < 0 || slot >= SLOTS) throw new Error(`port slot ${slot}: expected a whole number from 0 to ${SLOTS - 1}`);
  // If the ephemeral range starts unusually low, fall back to the ports above it.
  const [from, to] = ephemeral.low - FIRST_PICKED_PORT >= SLOTS * 16 ? [FIRST_PICKED_PORT, ephemeral.low - 1] : [ephemeral.high + 1, 65535];
  const size = Math.floor((to - from + 1) / SLOTS);
  if (size < 16) throw new Error(`no room for port blocks outside the ephemeral range ${ephemeral.low}-${ephemeral.high}`);
  return { low: from + slot * size, high: from + (slot + 1) * size - 1 };
}

let slot: number | undefined;
let cursor: number | undefined;
/** Ports this process has handed out and not seen bound yet: never handed out twice. */
const handedOut = new Set<number>();

/**
 * Gives this process its own block. Test setup calls it with the vitest pool id, so parallel test
 * files never race each other; every other process gets a slot from its pid, above the reserved ones.
 */
export function usePortSlot(n: number): void {
  blockFor(n);
  slot = n;
  cursor = undefined;
}

function currentBlock(): PortRange {
  slot ??= RESERVED_SLOTS + (process.pid % (SLOTS - RESERVED_SLOTS));
  return blockFor(slot);
}

/** True when nothing listens on `port` at `host` now (a bind that succeeds, then is closed). */
export function portFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The next port of this process's block that binds now, on `host`. */
export async function allocatePort(host = '127.0.0.1'): Promise<number> {
  const block = currentBlock();
  const span = block.high - block.low + 1;
  // Start at a pid-dependent offset, so a process restarted at once does not reuse the ports its
  // predecessor may still be closing.
  cursor ??= block.low + (process.pid * 7) % span;
  for (let tried = 0; tried < span; tried++) {
    const port = cursor;
    cursor = cursor >= block.high ? block.low : cursor + 1;
    if (handedOut.has(port)) continue;
    if (await portFree(port, host)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port in ${block.low}-${block.high} (slot ${slot}): something holds them all`);
}

export async function allocatePorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await allocatePort(host));
  return out;
}

/** A server atlas-ops started lost its port to someone else between the check and the bind. */
export class AddressInUseError extends Error {
  override name = 'AddressInUseError';
  constructor(
    message: string,
    /** The port named in the server's error, when it said which. */
    readonly port?: number,
  ) {
    super(message);
  }
}

/**
 * Starts a server on ports it picked, and on "address already in use" picks again, up to
 * `attempts` times, logging each retry. Only for ports atlas-ops chose: a port the operator named
 * fails at once, with the caller's own message.
 */
export async function retryOnAddressInUse<T>(
  count: number,
  start: (ports: number[]) => Promise<T>,
  options: { attempts?: number; log?: (line: string) => void; what?: string } = {},
): Promise<T> {
  const attempts = options.attempts ?? 4;
  for (let attempt = 1; ; attempt++) {
    const ports = await allocatePorts(count);
    try {
      return await start(ports);
    } catch (err) {
      if (!(err instanceof AddressInUseError) || attempt >= attempts) throw err;
      (options.log ?? ((l) => process.stderr.write(`${l}\n`)))(
        `${options.what ?? 'server'} on ports ${ports.join(', ')}: ${err.message.split('\n')[0]}; picking new ports (attempt ${attempt + 1} of ${attempts})`,
      );
    }
  }
}

/** Listens `server` on `port` of `host`; a taken port is an AddressInUseError naming it. */
export function listenOn(server: net.Server, port: number, host = '127.0.0.1'): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(err.code === 'EADDRINUSE' ? new AddressInUseError(`${host}:${port}: address already in use`, port) : err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve(port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/** Listens `server` on a picked port of 127.0.0.1 (or `host`), moving on when one is taken meanwhile. */
export function listenOnPickedPort(server: net.Server, host = '127.0.0.1'): Promise<number> {
  return retryOnAddressInUse(1, ([port]) => listenOn(server, port!, host), { attempts: 10, what: 'listener', log: () => undefined });
}
