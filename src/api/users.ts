/**
 * POST /users/:user/copies {mode, dir?}: provision, latest or update a user's copy (operator
 * token, or that user's token). Answers with the copy's path and the per-file report once the
 * user's workflow has run it; the platform's account-creation hook and `getlatest` call this.
 * GET /users/:user/token (operator): the user's token, for the account hook to hand over.
 */
import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { COPY_FAILURES, COPY_MODES, QUEUE_FULL, copyRequestProblem, userNameProblem } from '../domain/copies/model.js';
import { CopyRequestError, requestCopy } from '../clients/copies/client.js';
import { userToken } from '../platform/copies/user-tokens.js';
import { failingNow } from '../storage/runs/public-status.js';
import type { ApiDeps } from './deps.js';
import { operatorAuth, userOrOperatorAuth } from './middleware/auth.js';
import { MAX_JSON_BODY_BYTES, limitBody } from './middleware/body-limit.js';
import { zodJson } from './middleware/zod-json.js';

export type UserRoutesDeps = ApiDeps<'apiToken' | 'userTokenSecret' | 'taskQueue' | 'temporal' | 'copies' | 'cacheDir'>;

/** The body's shape; what makes a request acceptable (names, mode and dir together) is copyRequestProblem's. */
const copyRequest = z.strictObject({ mode: z.enum(COPY_MODES), dir: z.string().optional() });

/** Typed failures of the copy activities, as HTTP statuses. */
const STATUS: Record<string, ContentfulStatusCode> = {
  [COPY_FAILURES.invalid]: 400,
  [COPY_FAILURES.userDirMissing]: 404,
  [COPY_FAILURES.notFound]: 404,
  [COPY_FAILURES.exists]: 409,
  [COPY_FAILURES.unsafe]: 409,
  [COPY_FAILURES.nothingPublished]: 409,
  [QUEUE_FULL]: 429, // the user's per-user cap (NBLC_COPY_MAX_QUEUED)
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
  app.post(
    '/:user/copies',
    // Who asks first: nothing of a stranger's body is read.
    userOrOperatorAuth(apiToken, userTokenSecret),
    limitBody(MAX_JSON_BODY_BYTES),
    zodJson(copyRequest, {
      notJson: 'the body must be JSON: {"mode": "provision" | "latest" | "update", "dir"?: "NAME"}',
      invalid: 'invalid request',
    }),
    async (c) => {
      const user = c.req.param('user');
      const { mode, dir } = c.req.valid('json');
      // Answered here rather than by requestCopy's own check, so the answer stays {error}.
      const problem = copyRequestProblem(user, { mode, dir });
      if (problem) return c.json({ error: problem }, 400);
      const log = deps.logger.child({ user, mode, dir });
      try {
        const result = await requestCopy(deps.client, deps.config, user, { mode, dir });
        log.info({ path: result.path, counts: result.counts }, 'copy request done');
        // A new copy: which of its notebooks fail upstream now (status.json), so getlatest can say.
        const failing = mode === 'latest' ? await failingNow(deps.config.cacheDir, notebooksOf(result.files)) : [];
        return c.json({ ...result, failingUpstream: failing }, result.created ? 201 : 200);
      } catch (err) {
        if (err instanceof CopyRequestError) {
          log.warn({ type: err.type, err: err.message }, 'copy request failed');
          return c.json({ error: err.message, type: err.type }, STATUS[err.type] ?? 500);
        }
        log.error({ err: (err as Error).message }, 'could not run the copy request');
        return c.json({ error: 'Temporal is unreachable or the request could not run; nothing was changed' }, 503);
      }
    },
  );
  return app;
}

/** The notebooks of a copy's file list. */
const notebooksOf = (files: ReadonlyArray<{ path: string }>) =>
  files.map((f) => f.path).filter((p) => p.endsWith('.ipynb'));
