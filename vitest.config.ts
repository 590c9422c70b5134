import { defineConfig } from 'vitest/config';

// .ci/run asks for a JSON report so it can print a plain "N passed, N failed" line.
const report = process.env.SERVAL_TEST_REPORT;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration and e2e suites start real emulators (Java DynamoDB Local); a 2-core machine
    // cannot run many of those at once, so files run in a small pool.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 120_000,
    reporters: report ? ['default', ['json', { outputFile: report }]] : ['default'],
  },
});
