import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration suites start real servers (emulator, s3rver, PostgreSQL, MariaDB); two cores.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    // Files run in a new random order every run (the seed is printed: `--sequence.seed N` repeats an order), so a
    // file that only passes after another fails sooner or later instead of never. Tests within a file keep
    // their order: some suites are one story (back up, then restore).
    sequence: { shuffle: { files: true, tests: false } },
  },
});
