/**
 * Operator routes (test runs, user copies) need `Authorization: Bearer $NBLC_API_TOKEN`.
 * Without a configured token they are off (503), never open. A user's copy requests also take
 * that user's own token (user-tokens.ts), so `getlatest` never holds the operator token.
 */
import type { MiddlewareHandler } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import type { Secret } from '../../platform/secret.js';
import { USER_TOKEN_PREFIX, isUserToken } from '../../platform/copies/user-tokens.js';

export function operatorAuth(token: Secret | undefined): MiddlewareHandler {
  if (!token) {
    return async (c) => c.json({ error: 'the operator API is off: set NBLC_API_TOKEN (or NBLC_API_TOKEN_FILE)' }, 503);
  }
  return bearerAuth({
    token: token.reveal(),
    noAuthenticationHeader: { message: { error: 'missing Authorization: Bearer <NBLC_API_TOKEN>' } },
    invalidToken: { message: { error: 'wrong bearer token' } },
    invalidAuthenticationHeader: { message: { error: 'malformed Authorization header; expected Bearer <token>' } },
  });
}

/** For routes with a `:user` parameter: the operator token, or that user's own token. */
export function userOrOperatorAuth(operator: Secret | undefined, userSecret: Secret | undefined): MiddlewareHandler {
  const asOperator = operatorAuth(operator);
  return async (c, next) => {
    const presented = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    if (!presented?.startsWith(USER_TOKEN_PREFIX)) {
      if (operator || !userSecret) return asOperator(c, next);
      return c.json({ error: 'missing Authorization: Bearer <your user token> (see getlatest)' }, 401);
    }
    if (!userSecret) {
      return c.json({ error: 'user tokens are off: set NBLC_USER_TOKEN_SECRET (or use the operator token)' }, 401);
    }
    if (!isUserToken(userSecret, c.req.param('user') ?? '', presented)) {
      return c.json(
        { error: `not a token of user ${c.req.param('user')}: a user token opens only its user's copies` },
        401,
      );
    }
    await next();
  };
}
