// Lint: typed rules everywhere; in workflows/ the determinism rules of Temporal's samples —
// no Node built-ins or I/O libraries (only types may be imported from activities), no floating promises.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
const ioLibraries = ['better-sqlite3', 'googleapis', 'oci-core', 'oci-common', '@temporalio/client', '@temporalio/worker', '@temporalio/activity', 'commander'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.atlas/**', 'test-artifacts/**', 'bench/out/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [...nodeBuiltins, ...ioLibraries].map((name) => ({ name, message: 'workflow code must stay deterministic: do I/O in an activity' })),
        patterns: [{ group: ['../activities/*', '../../activities/*', '../activities', '../../activities'], allowTypeImports: true, message: 'import activities as types only' }],
      }],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'fetch', 'process'],
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', process: 'readonly', __dirname: 'readonly', Buffer: 'readonly', console: 'readonly', setTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
