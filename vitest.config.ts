import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Test files that need a process of their own: hostfs-paths forces the
 * checked-path host layer through an environment variable read once per
 * process, and re-imports other test files to run them through it.
 */
const OWN_PROCESS = ['test/hostfs-paths.test.ts'];

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    // Guests run inside the test process through Unicorn; forks keep them apart from vitest's own threads.
    pool: 'forks',
    // A worker runs its files one after another and keeps the modules it loaded: loading the kernel's
    // ~200 modules again for each of 70 files was 48 s of the suite's CPU. Every file builds its own
    // kernels and temporary directories and leaves no process state behind; the files that do are in
    // OWN_PROCESS. (vitest decides this for the whole pool here; it runs each project's files in workers
    // of their own.)
    poolOptions: { forks: { isolate: false } },
    // Two files at once on a 2-core machine: most of a test's time is a guest in another process or a
    // wait on one, and vitest's default (cores - 1) would run the files one after another.
    maxWorkers: 2,
    // Hang guards, not speed checks: no test asserts how long anything took.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Each project names its files (a project that extends the root would add to the root's include).
    projects: [
      { extends: true, test: { name: 'shared', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...OWN_PROCESS] } },
      { extends: true, test: { name: 'own-process', include: OWN_PROCESS, isolate: true, poolOptions: { forks: { isolate: true } } } },
    ],
  },
});
