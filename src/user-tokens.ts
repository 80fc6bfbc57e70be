/**
 * Per-user tokens, so that `getlatest` needs no operator token: a user's token is an HMAC of
 * the user's name under NBLC_USER_TOKEN_SECRET, and opens only that user's copy requests.
 * Nothing is stored: the API recomputes the token; rotating the secret revokes them all.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Secret } from './secret.js';

/** Tells user tokens from the operator token at a glance (and in the middleware). */
export const USER_TOKEN_PREFIX = 'nblcu_';

export function userToken(secret: Secret, user: string): string {
  const mac = createHmac('sha256', secret.reveal()).update(`nblc user token v1\0${user}`).digest('base64url');
  return `${USER_TOKEN_PREFIX}${mac}`;
}

export function isUserToken(secret: Secret, user: string, presented: string): boolean {
  const expected = Buffer.from(userToken(secret, user));
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
