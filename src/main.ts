/** `nblc`: the command line. Each command loads the one validated config from the environment. */
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { ConfigError } from './platform/config.js';
import { registerAlerts } from './cli/alerts.js';
import { registerCopy } from './cli/copy.js';
import { registerKernels } from './cli/kernels.js';
import { UsageError } from './cli/errors.js';
import { registerServe } from './cli/serve.js';
import { registerSync } from './cli/sync.js';
import { registerTemporal } from './cli/temporal.js';
import { registerTest } from './cli/test.js';
import { registerUserToken } from './cli/user-token.js';
import { registerDemo } from './demo/command.js';
import { TemporalSetupError } from './process/temporal-setup.js';

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

registerServe(program);
registerSync(program);
registerCopy(program);
registerTest(program);
registerKernels(program);
registerUserToken(program);
registerTemporal(program);
registerAlerts(program);
registerDemo(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof UsageError || err instanceof TemporalSetupError) {
    console.error(`nblc: ${err.message}`);
    process.exitCode = 2;
  } else {
    console.error(`nblc: ${(err as Error).stack ?? err}`);
    process.exitCode = 1;
  }
});
