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
};
