import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Guests run inside the test process through Unicorn; forks keep each file's engines apart.
    pool: 'forks',
    // Two files at once on a 2-core machine: most of a test's time is a guest in another process or a
    // wait on one, and vitest's default (cores - 1) would run the files one after another.
    maxWorkers: 2,
    // Hang guards, not speed checks: no test asserts how long anything took.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
