// The port allocator (src/ports.ts): ports below the kernel's ephemeral range, disjoint blocks per
// slot, each checked by binding, and a bounded retry when a server loses its picked port anyway.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AddressInUseError,
  DEFAULT_EPHEMERAL,
  SLOTS,
  allocatePort,
  allocatePorts,
  blockFor,
  ephemeralRange,
  listenOnPickedPort,
  portFree,
  retryOnAddressInUse,
  usePortSlot,
} from '../src/ports';

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function listen(port: number): Promise<net.Server> {
  const s = net.createServer();
  servers.push(s);
  return new Promise((resolve, reject) => s.once('error', reject).listen(port, '127.0.0.1', () => resolve(s)));
}

describe('port allocator', () => {
  it('reads the ephemeral range, and falls back to the Linux default where it cannot', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atlas-ports-'));
    fs.writeFileSync(path.join(dir, 'range'), '40000\t50000\n');
    expect(ephemeralRange(path.join(dir, 'range'))).toEqual({ low: 40000, high: 50000 });
    fs.writeFileSync(path.join(dir, 'garbage'), 'not a range\n');
    expect(ephemeralRange(path.join(dir, 'garbage'))).toEqual(DEFAULT_EPHEMERAL);
    expect(ephemeralRange(path.join(dir, 'missing'))).toEqual(DEFAULT_EPHEMERAL);
    fs.rmSync(dir, { recursive: true });
  });

  it('gives each slot its own block, all below the ephemeral range', () => {
    const range = ephemeralRange();
    const blocks = Array.from({ length: SLOTS }, (_, i) => blockFor(i, range));
    for (const [i, b] of blocks.entries()) {
      expect(b.low).toBeGreaterThanOrEqual(10_000);
      expect(b.high).toBeLessThan(range.low);
      expect(b.high - b.low).toBeGreaterThanOrEqual(15);
      if (i > 0) expect(b.low).toBeGreaterThan(blocks[i - 1]!.high);
    }
    // A machine whose ephemeral range starts low gets blocks above it instead.
    for (const b of [blockFor(0, { low: 10_100, high: 50_000 }), blockFor(SLOTS - 1, { low: 10_100, high: 50_000 })]) {
      expect(b.low).toBeGreaterThan(50_000);
      expect(b.high).toBeLessThanOrEqual(65_535);
    }
    expect(() => blockFor(SLOTS)).toThrow(/port slot 32/);
  });

  it('hands out ports of its own block, never twice, skipping ports someone holds', async () => {
    usePortSlot(6);
    const block = blockFor(6);
    const ports = await allocatePorts(20);
    expect(new Set(ports).size).toBe(20);
    for (const p of ports) {
      expect(p).toBeGreaterThanOrEqual(block.low);
      expect(p).toBeLessThanOrEqual(block.high);
    }
    // The next two ports in the block are taken by someone else: the allocator steps over them.
    const last = ports.at(-1)!;
    const next = (p: number) => (p >= block.high ? block.low : p + 1);
    await listen(next(last));
    await listen(next(next(last)));
    const after = await allocatePort();
    expect(after).toBe(next(next(next(last))));
    expect(await portFree(after)).toBe(true);
    expect(await portFree(next(last))).toBe(false);
  });

  it('retries a start that lost its port, with new ports, and says so; other errors fail at once', async () => {
    usePortSlot(7);
    const seen: number[][] = [];
    const log: string[] = [];
    const port = await retryOnAddressInUse(
      2,
      async (ports) => {
        seen.push(ports);
        if (seen.length < 3) throw new AddressInUseError(`127.0.0.1:${ports[0]}: address already in use`, ports[0]);
        return ports[0]!;
      },
      { log: (l) => log.push(l), what: 'test server' },
    );
    expect(seen).toHaveLength(3);
    expect(new Set(seen.flat()).size).toBe(6);
    expect(port).toBe(seen[2]![0]);
    expect(log).toHaveLength(2);
    expect(log[0]).toContain(`test server on ports ${seen[0]!.join(', ')}: 127.0.0.1:${seen[0]![0]}: address already in use; picking new ports (attempt 2 of 4)`);

    let calls = 0;
    await expect(retryOnAddressInUse(1, async () => {
      calls++;
      throw new Error('permission denied');
    })).rejects.toThrow('permission denied');
    expect(calls).toBe(1);

    calls = 0;
    await expect(retryOnAddressInUse(1, async ([p]) => {
      calls++;
      throw new AddressInUseError(`${p}: in use`, p);
    }, { attempts: 3, log: () => undefined })).rejects.toThrow(AddressInUseError);
    expect(calls).toBe(3);
  });

  it('listens a server on a picked port, outside the ephemeral range', async () => {
    const s = net.createServer();
    servers.push(s);
    const port = await listenOnPickedPort(s);
    expect((s.address() as net.AddressInfo).port).toBe(port);
    expect(port).toBeLessThan(ephemeralRange().low);
  });
});
