// Lint rules that keep the project honest; the workflow block is what keeps workflows replayable.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/', '.venv/', '.nblc/', 'dist/', 'python/', 'bin/', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox and is replayed from history:
    // no Node built-ins, no I/O, and activities only as types (called through proxyActivities).
    // The stages' models are imported by workflows, so they obey the same rules; each stage's
    // client (Temporal client calls) and the token signers (node:crypto) are the exceptions.
    files: ['src/workflows/**/*.ts', 'src/{sync,runs,copies}/**/*.ts', 'src/domain/ui-links.ts'],
    ignores: ['src/*/client.ts', 'src/*/*-{tokens,links}.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflows are deterministic: no Node built-ins.' })),
          patterns: [
            { group: ['**/activities/**'], allowTypeImports: true, message: 'Workflows import activity types only.' },
            {
              group: ['**/runtime/**', '!**/runtime/temporal-ui*'],
              message: 'Workflows and models do not load the runtime (config, connections).',
            },
            {
              group: ['@temporalio/client', '@temporalio/worker', '@temporalio/activity', 'simple-git', 'pino', 'hono'],
              message: 'Not available in the workflow sandbox.',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' },
        { name: 'process', message: 'No process in workflows.' },
      ],
    },
  },
  {
    // The HTTP layer parses, verifies and starts workflows; git and files belong to activities.
    files: ['src/api/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            'fs',
            'node:fs',
            'fs/promises',
            'node:fs/promises',
            'child_process',
            'node:child_process',
            'simple-git',
          ]
            .map((name) => ({ name, message: 'src/api is HTTP only.' }))
            .concat({
              // It follows symlinks: a link planted in a run's directory would serve any file.
              name: '@hono/node-server/serve-static',
              message:
                "Report files are opened by src/storage/runs/report-files.ts (no symlinks, the run's own files).",
            }),
          patterns: [{ group: ['**/activities/**'], message: 'src/api is HTTP only.' }],
        },
      ],
    },
  },
);
