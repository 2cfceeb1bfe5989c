import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: tests that start processes are already parallel inside themselves.
    maxWorkers: 2,
    fileParallelism: true,
    reporters: ['default'],
  },
});
