// Lint: typed rules everywhere; in workflows/ the determinism rules of Temporal's samples —
// no Node built-ins or I/O libraries, no floating promises, and values imported only from
// src/workflow-safe/ (anything else, activities included, as types only). src/workflow-safe/
// itself stays pure: no Node built-ins, no I/O libraries, no other module of the project.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
const ioLibraries = ['better-sqlite3', 'googleapis', 'oci-core', 'oci-common', '@temporalio/client', '@temporalio/worker', '@temporalio/activity', 'commander'];
const deterministic = (name) => ({ name, message: 'workflow code must stay deterministic: do I/O in an activity' });
const forbiddenGlobals = ['error', 'setTimeout', 'setInterval', 'fetch', 'process'];

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
        paths: [...nodeBuiltins, ...ioLibraries].map(deterministic),
        patterns: [
          { group: ['../activities', '../../activities', '../activities/**', '../../activities/**'], allowTypeImports: true, message: 'import activities as types only' },
          {
            regex: '^(\\.\\./)+src/(?!workflow-safe/)',
            allowTypeImports: true,
            message: 'workflows import values only from src/workflow-safe/ (other modules as types only)',
          },
        ],
      }],
      'no-restricted-globals': forbiddenGlobals,
    },
  },
  {
    files: ['src/workflow-safe/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [...nodeBuiltins, ...ioLibraries].map(deterministic),
        patterns: [{ regex: '^\\.\\./', message: 'src/workflow-safe/ imports nothing else of the project: workflows load it' }],
      }],
      'no-restricted-globals': forbiddenGlobals,
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', process: 'readonly', __dirname: 'readonly', Buffer: 'readonly', console: 'readonly', setTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
