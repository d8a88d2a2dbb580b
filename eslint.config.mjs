// One lint configuration for every package. Type-aware rules run through the TypeScript project
// service, so each file is checked against the tsconfig.json of its own package.
import js from '@eslint/js';
import importX from 'eslint-plugin-import-x';
import simpleImportSort from 'eslint-plugin-simple-import-sort';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const packages = ['devhost', 'platform', 'orchestrations', 'audit-app', 'patient-app'];

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', '.local/**', 'coverage/**', 'loadtest/results/**', '**/*.js', '**/*.mjs', '**/*.cjs'],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'simple-import-sort': simpleImportSort, 'import-x': importX },
    rules: {
      'simple-import-sort/imports': 'error',
      'simple-import-sort/exports': 'error',
      'import-x/no-cycle': 'error',
      'import-x/no-duplicates': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      'no-console': 'off',
      // Packages import each other by package name, never through a relative path into another package.
      'no-restricted-imports': [
        'error',
        {
          patterns: packages.map((name) => ({
            group: [`../${name}/*`, `../../${name}/*`, `../../../${name}/*`, `../../../../${name}/*`],
            message: `Import @patient-records/${name} by package name, not by a relative path.`,
          })),
        },
      ],
    },
  },
  {
    // Orchestrator code is replayed: it must be deterministic. No clocks, randomness, environment,
    // I/O or Node built-ins; use context.df.currentUtcDateTime, newGuid and the input instead.
    files: ['orchestrations/src/**/orchestrator.ts', 'orchestrations/src/**/*.orchestrator.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'http', 'https', 'net', 'crypto', 'child_process', 'os', 'path'], message: 'Orchestrators do no I/O.' },
            { group: ['mongodb', 'axios', '@azure/keyvault-secrets', '@azure/identity', 'applicationinsights'], message: 'Orchestrators use no clients; call an activity.' },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'fetch', message: 'Orchestrators do no I/O; call an activity.' },
        { name: 'setTimeout', message: 'Use context.df.createTimer.' },
        { name: 'setInterval', message: 'Use context.df.createTimer.' },
        { name: 'process', message: 'Orchestrators read no environment; pass settings in the input.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Use context.df.currentUtcDateTime.' },
        { object: 'Math', property: 'random', message: 'Use context.df.newGuid.' },
        { object: 'crypto', property: 'randomUUID', message: 'Use context.df.newGuid.' },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Use context.df.currentUtcDateTime.' },
      ],
    },
  },
  {
    files: ['*/test/**/*.ts'],
    rules: {
      // Tests assert on loosely typed JSON bodies and build fixtures freely.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
