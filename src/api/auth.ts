/**
 * Operator routes (test runs, user copies) need `Authorization: Bearer $NBLC_API_TOKEN`.
 * Without a configured token they are off (503), never open.
 */
import type { MiddlewareHandler } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import type { Secret } from '../secret.js';

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
