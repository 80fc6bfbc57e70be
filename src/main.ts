/** `nblc`: the command line. Each command loads the one validated config from the environment. */
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { ConfigError } from './platform/config.js';
import { UsageError } from './cli/errors.js';

type Register = (program: Command) => void;
const serve = () => import('./cli/serve.js').then((m): Register => m.registerServe);
const sync = () => import('./cli/sync.js').then((m): Register => m.registerSync);
const runs = () => import('./cli/test.js').then((m): Register => m.registerTest);

/**
 * Each command's module, by the names it registers, loaded only when that command runs: every
 * start paid ~1.7 CPU-s for loading all of them (the worker, the API, database drivers), while
 * `nblc copy` needs a Temporal client and `nblc user-token` not even that. Help, and a name not
 * listed here (a new command works before it is listed, only slower to start), load them all,
 * in this order (the order of `nblc --help`).
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  start: serve,
  worker: serve,
  api: serve,
  sync,
  status: sync,
  copy: () => import('./cli/copy.js').then((m): Register => m.registerCopy),
  test: runs,
  schedule: runs,
  kernels: () => import('./cli/kernels.js').then((m): Register => m.registerKernels),
  'user-token': () => import('./cli/user-token.js').then((m): Register => m.registerUserToken),
  temporal: () => import('./cli/temporal.js').then((m): Register => m.registerTemporal),
  alerts: () => import('./cli/alerts.js').then((m): Register => m.registerAlerts),
  demo: () => import('./demo/command.js').then((m): Register => m.registerDemo),
};

const { version } = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '..', 'package.json'), 'utf8')) as {
  version: string;
};

const program = new Command()
  .name('nblc')
  .version(version, '-V, --version', "print nblc's version")
  .description("nblc keeps a science platform's Jupyter notebooks alive, on Temporal")
  .addHelpText(
    'after',
    [
      '',
      'What it does:',
      '  sync    signed GitHub webhooks (merge beacons) publish each verified commit of the notebooks',
      "          repository as a read-only snapshot in the cache the users' notebook servers mount",
      '  copies  each user gets a copy of their own, later updated without overwriting their edits',
      '  tests   every notebook runs in a sandbox on merges, pull requests and a schedule: reports,',
      '          a per-notebook history, a dashboard, chat/e-mail alerts and GitHub commit statuses',
      '',
      'Run it all in one process with `nblc start` (an embedded Temporal server), or `nblc worker`',
      'and `nblc api` against a Temporal cluster (docker-compose.yml, docs/deployment.md). Try it:',
      '`npm run demo`. Settings are environment variables: NBLC_REPO_URL and NBLC_REPO_FULL_NAME',
      'are required; docs/deployment.md lists every one. `nblc <command> --help` for a command.',
    ].join('\n'),
  )
  .showHelpAfterError();

// The program's own options (-V, -h) take no value: the first other argument names the command.
const args = process.argv.slice(2);
const name = args.find((arg) => !arg.startsWith('-'));
const own = name !== undefined && Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
const versionOnly = name === undefined && args.some((arg) => arg === '-V' || arg === '--version');
const loaders = own ? [own] : versionOnly ? [] : Object.values(COMMANDS);
for (const register of await Promise.all([...new Set(loaders)].map((load) => load()))) register(program);

/** An operator's error (exit status 2, the message alone), not a bug. */
async function isOperatorError(err: unknown): Promise<boolean> {
  if (err instanceof ConfigError || err instanceof UsageError) return true;
  // Loaded only now: it brings the Temporal client, which most commands need and the others do not.
  return err instanceof (await import('./process/temporal-setup.js')).TemporalSetupError;
}

program.parseAsync(process.argv).catch(async (err: unknown) => {
  if (await isOperatorError(err)) {
    console.error(`nblc: ${(err as Error).message}`);
    process.exitCode = 2;
  } else {
    console.error(`nblc: ${(err as Error).stack ?? err}`);
    process.exitCode = 1;
  }
});
