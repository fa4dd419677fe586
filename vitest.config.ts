import path from 'node:path';
import { defineConfig } from 'vitest/config';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { cacheRoot } = require('./scripts/go-tool-installer.js') as { cacheRoot(): string };

export default defineConfig({
  // Vitest keeps each file's last duration here and starts the longest files first (failed ones
  // before them): outside the clone, so CI's `npm ci` does not throw the timings away and a
  // 4-minute fault file never starts last, alone on one core (docs/testing.md#suite-time).
  cacheDir: path.join(cacheRoot(), 'vite'),
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/helpers/port-slot.ts'],
    // Generous: integration tests start servers and CLI processes, and a loaded 2-core machine is slow.
    testTimeout: 240_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Two cores: integration files each run a worker against the one dev server.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
