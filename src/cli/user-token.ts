/** `nblc user-token <user>`: the token `getlatest` sends for that user (see user-tokens.ts). */
import type { Command } from 'commander';
import { loadConfig } from '../platform/config.js';
import { userNameProblem } from '../domain/copies/model.js';
import { userToken } from '../platform/copies/user-tokens.js';
import { UsageError } from './errors.js';

export function registerUserToken(program: Command): void {
  program
    .command('user-token')
    .description("print a user's own API token (opens only that user's copy requests), for ~/.nblc/token")
    .argument('<user>', 'the user (a directory under NBLC_USERS_DIR)')
    .addHelpText(
      'after',
      '\nThe account hook writes it for the user, e.g.\n' +
        '  install -m 600 -o ada /dev/null ~ada/.nblc/token && nblc user-token ada > ~ada/.nblc/token\n' +
        'Needs NBLC_USER_TOKEN_SECRET; changing that secret revokes every user token.',
    )
    .action((user: string) => {
      const problem = userNameProblem(user);
      if (problem) throw new UsageError(problem);
      const secret = loadConfig().userTokenSecret;
      if (!secret) throw new UsageError('set NBLC_USER_TOKEN_SECRET (or NBLC_USER_TOKEN_SECRET_FILE) first');
      console.log(userToken(secret, user));
    });
}
