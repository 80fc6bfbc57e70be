/**
 * POST /users/:user/copies {mode, dir?}: provision, latest or update a user's copy (operator
 * token, or that user's token). Answers with the copy's path and the per-file report once the
 * user's workflow has run it; the platform's account-creation hook and `getlatest` call this.
 * GET /users/:user/token (operator): the user's token, for the account hook to hand over.
 */
import type { Client } from '@temporalio/client';
import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import type { Config } from '../runtime/config.js';
import { COPY_FAILURES, COPY_MODES, userNameProblem } from '../copies/model.js';
import { CopyRequestError, copyRequestProblem, requestCopy } from '../copies/client.js';
import type { Logger } from '../runtime/logger.js';
import { userToken } from '../copies/user-tokens.js';
import { operatorAuth, userOrOperatorAuth } from './auth.js';

export interface UserRoutesDeps {
  client: Client;
  config: Pick<Config, 'apiToken' | 'userTokenSecret' | 'taskQueue' | 'temporal' | 'copyConcurrency'>;
  logger: Logger;
}

const body = z.strictObject({ mode: z.enum(COPY_MODES), dir: z.string().optional() });

/** Typed failures of the copy activities, as HTTP statuses. */
const STATUS: Record<string, ContentfulStatusCode> = {
  [COPY_FAILURES.invalid]: 400,
  [COPY_FAILURES.userDirMissing]: 404,
  [COPY_FAILURES.notFound]: 404,
  [COPY_FAILURES.exists]: 409,
  [COPY_FAILURES.unsafe]: 409,
  [COPY_FAILURES.nothingPublished]: 409,
};

export function userRoutes(deps: UserRoutesDeps): Hono {
  const app = new Hono();
  const { apiToken, userTokenSecret } = deps.config;
  // For the platform's account hook: the token to write into the user's ~/.nblc/token.
  app.get('/:user/token', operatorAuth(apiToken), (c) => {
    const user = c.req.param('user');
    const badUser = userNameProblem(user);
    if (badUser) return c.json({ error: badUser }, 400);
    if (!userTokenSecret) return c.json({ error: 'user tokens are off: set NBLC_USER_TOKEN_SECRET' }, 404);
    return c.json({ user, token: userToken(userTokenSecret, user) });
  });
  app.post('/:user/copies', userOrOperatorAuth(apiToken, userTokenSecret), async (c) => {
    const user = c.req.param('user');
    const badUser = userNameProblem(user);
    if (badUser) return c.json({ error: badUser }, 400);
    let json: unknown;
    try {
      json = await c.req.json();
    } catch {
      return c.json(
        { error: 'the body must be JSON: {"mode": "provision" | "latest" | "update", "dir"?: "NAME"}' },
        400,
      );
    }
    const parsed = body.safeParse(json);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
      return c.json({ error: 'invalid request', problems }, 400);
    }
    const { mode, dir } = parsed.data;
    const problem = copyRequestProblem(user, mode, dir);
    if (problem) return c.json({ error: problem }, 400);
    const log = deps.logger.child({ user, mode, dir });
    try {
      const result = await requestCopy(deps.client, deps.config, user, { mode, dir });
      log.info({ path: result.path, counts: result.counts }, 'copy request done');
      return c.json(result, result.created ? 201 : 200);
    } catch (err) {
      if (err instanceof CopyRequestError) {
        log.warn({ type: err.type, err: err.message }, 'copy request failed');
        return c.json({ error: err.message, type: err.type }, STATUS[err.type] ?? 500);
      }
      log.error({ err: (err as Error).message }, 'could not run the copy request');
      return c.json({ error: 'Temporal is unreachable or the request could not run; nothing was changed' }, 503);
    }
  });
  return app;
}
