import { defineConfig } from 'vitest/config';

export default defineConfig({
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
