/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // @swc/jest with the hot built-ins bound per module (why: test/support/swc-transform.js).
  transform: { '^.+\\.tsx?$': '<rootDir>/test/support/swc-transform.js' },
  setupFiles: ['<rootDir>/test/support/setup-env.ts'],
  // Integration tests start real servers; give them room on a 2-core machine.
  testTimeout: 60_000,
  maxWorkers: 2,
  // Traced with test/support/exit-probe.js: every worker exits within milliseconds of being told to, but on a loaded
  // machine the runner's own 500 ms timer can fire first and report "failed to exit gracefully". A worker that
  // really hangs is still killed and reported, after 5 s.
  workerGracefulExitTimeout: 5_000,
};
