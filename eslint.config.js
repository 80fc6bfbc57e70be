// Lint rules that keep the project honest: the floors of the house (docs/architecture.md) and the
// workflow block that keeps workflows replayable.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

// The floors, bottom to top, and what each may import (docs/architecture.md, "The floors").
// Workflows import activities and clients import workflows as types only: that is checked by
// no-restricted-imports below (allowTypeImports), so those two pairs are not zones here.
const FLOORS = {
  domain: [],
  platform: ['domain'],
  views: ['domain'],
  storage: ['platform', 'domain'],
  activities: ['storage', 'platform', 'views', 'domain'],
  workflows: ['domain', 'activities' /* types only */],
  clients: ['workflows' /* types only */, 'platform', 'domain'],
  api: ['clients', 'storage', 'views', 'platform', 'domain'],
  process: ['api', 'clients', 'workflows', 'activities', 'storage', 'views', 'platform', 'domain'],
  cli: ['process', 'api', 'clients', 'workflows', 'activities', 'storage', 'views', 'platform', 'domain'],
  demo: ['process', 'api', 'clients', 'workflows', 'activities', 'storage', 'views', 'platform', 'domain'],
};
const floorPath = (floor) => `./src/${floor}`;
const zones = Object.entries(FLOORS).map(([floor, allowed]) => ({
  target: floorPath(floor),
  from: [
    ...Object.keys(FLOORS)
      .filter((other) => other !== floor && !allowed.includes(other))
      .map(floorPath),
    './src/main.ts',
  ],
  message: allowed.length
    ? `src/${floor} may import only ${allowed.map((f) => `src/${f}`).join(', ')} (the floors: docs/architecture.md).`
    : `src/${floor} imports no other floor (the floors: docs/architecture.md).`,
}));

// What pure code never loads: no I/O, no processes, no connections.
const sideEffectPackages = [
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
  '@temporalio/testing',
  'simple-git',
  'pino',
  'pg',
  '@libsql/*',
  'nodemailer',
  '@octokit/*',
];
const noBuiltins = (who) => nodeBuiltins.map((name) => ({ name, message: `${who}: no Node built-ins.` }));
const pure = { group: [...sideEffectPackages, 'hono', 'hono/*', '@hono/*'], message: 'Pure code: no side effects.' };
const deterministicGlobals = [
  'error',
  { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' },
  { name: 'process', message: 'No process in workflows or the domain.' },
];

export default tseslint.config(
  { ignores: ['node_modules/', '.venv/', '.nblc/', 'dist/', 'python/', 'bin/', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })] },
    // scripts/*.js run before tsx (plain JavaScript, outside tsconfig.json): linted with default options.
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['scripts/*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
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
      // No import runs back up a floor, and no module imports itself round a circle.
      'import-x/no-restricted-paths': ['error', { zones }],
      'import-x/no-cycle': 'error',
    },
  },
  {
    // The domain is pure: imported by workflows (replayed in Temporal's deterministic sandbox) and
    // by every floor above, so it loads nothing with side effects.
    files: ['src/domain/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { paths: noBuiltins('The domain is pure and runs in workflows'), patterns: [pure] },
      ],
      'no-restricted-globals': deterministicGlobals,
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox and is replayed from history:
    // no Node built-ins, no I/O, and activities only as types (called through proxyActivities).
    files: ['src/workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: noBuiltins('Workflows are deterministic'),
          patterns: [
            { group: ['**/activities/**'], allowTypeImports: true, message: 'Workflows import activity types only.' },
            { ...pure, message: 'Not available in the workflow sandbox.' },
          ],
        },
      ],
      'no-restricted-globals': deterministicGlobals,
    },
  },
  {
    // Views render: what a page or a report says, from the domain's values, without I/O.
    files: ['src/views/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: noBuiltins('Views only render'),
          patterns: [{ group: sideEffectPackages, message: 'Views only render: no side effects.' }],
        },
      ],
    },
  },
  {
    // A client starts, signals and queries workflows by name: it never loads workflow code.
    files: ['src/clients/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/workflows/**'],
              allowTypeImports: true,
              message: 'Clients name workflows (types only); their messages are in src/domain/<stage>/messages.ts.',
            },
          ],
        },
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
