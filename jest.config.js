// One jest run over every package. Type checking happens once in `npm run typecheck`, so ts-jest
// only transpiles (tsconfig.jest.json sets isolatedModules). Integration suites start their own
// store and hosts on free ports, one set per test file, so files can run in parallel.
const packages = ['devhost', 'platform', 'orchestrations', 'audit-app', 'patient-app', 'env', 'loadtest'];

/** @type {import('jest').Config} */
module.exports = {
  globalSetup: '<rootDir>/devhost/test/support/global-setup.js',
  testTimeout: 60_000,
  projects: packages.map((name) => ({
    displayName: name,
    rootDir: `<rootDir>/${name}`,
    testEnvironment: 'node',
    testMatch: ['<rootDir>/test/**/*.test.ts'],
    transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/../tsconfig.jest.json' }] },
  })),
};
