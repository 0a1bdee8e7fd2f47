import { configDefaults, defineConfig } from 'vitest/config';

// Unit tests live beside the code (control-plane/src/**/*.test.ts); cross-process tests under test/.
// End-to-end tests spawn real Python workers and share one Redis, so files run one at a time.
export default defineConfig({
  test: {
    include: ['control-plane/src/**/*.test.ts', 'test/**/*.test.ts'],
    // Too long for make test's budget: `npm run test:slow` (vitest.slow.config.ts, docs/testing.md).
    exclude: [...configDefaults.exclude, 'test/slow/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    reporters: ['default'],
  },
});
