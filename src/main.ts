/** `nblc`: the command line. Each command loads the one validated config from the environment. */
import { Command } from 'commander';
import { ConfigError } from './platform/config.js';
import { registerAlerts } from './cli/alerts.js';
import { registerCopy } from './cli/copy.js';
import { UsageError } from './cli/errors.js';
import { registerServe } from './cli/serve.js';
import { registerSync } from './cli/sync.js';
import { registerTemporal } from './cli/temporal.js';
import { registerTest } from './cli/test.js';
import { registerUserToken } from './cli/user-token.js';
import { registerDemo } from './demo/command.js';
import { TemporalSetupError } from './process/temporal-setup.js';

const program = new Command()
  .name('nblc')
  .description('Notebook life cycle service: sync the notebooks cache on verified merge beacons, on Temporal')
  .showHelpAfterError();

registerServe(program);
registerSync(program);
registerCopy(program);
registerTest(program);
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
