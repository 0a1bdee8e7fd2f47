import { defineConfig } from 'vitest/config';

// Tests too long for `make test`'s budget (docs/testing.md, "Redis Cluster"): `npm run test:slow`.
export default defineConfig({
  test: {
    include: ['test/slow/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    reporters: ['default'],
  },
});
