/**
 * Per-user tokens, so that `getlatest` needs no operator token: a user's token is an HMAC of
 * the user's name under NBLC_USER_TOKEN_SECRET, and opens only that user's copy requests.
 * Nothing is stored: the API recomputes the token; rotating the secret revokes them all.
 */
import { macOf, sameToken, type Secret } from '../secret.js';

/** Tells user tokens from the operator token at a glance (and in the middleware). */
export const USER_TOKEN_PREFIX = 'nblcu_';

export function userToken(secret: Secret, user: string): string {
  return `${USER_TOKEN_PREFIX}${macOf(secret, 'nblc user token v1', user)}`;
}

export function isUserToken(secret: Secret, user: string, presented: string): boolean {
  return sameToken(presented, userToken(secret, user));
}
