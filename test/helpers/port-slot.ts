// Runs in every test worker before its files: the worker takes the port block of its pool id, so
// parallel test files never hand out the same port (src/ports.ts). Child processes a test spawns
// (the CLI, a worker) take slots of their own, from their pid.
import { RESERVED_SLOTS, usePortSlot } from '../../src/ports';

const pool = Number(process.env.VITEST_POOL_ID ?? 1);
usePortSlot(1 + ((pool - 1) % (RESERVED_SLOTS - 1)));
