import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A PostgreSQL cluster for the tests that run on both stores (test/helpers/pg-global.ts).
    globalSetup: ['test/helpers/pg-global.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: tests that start processes are already parallel inside themselves.
    maxWorkers: 2,
    fileParallelism: true,
    reporters: ['default'],
  },
});
