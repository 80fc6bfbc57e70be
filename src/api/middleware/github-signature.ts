/**
 * githubSignature(secrets): a delivery must carry X-Hub-Signature-256, the HMAC-SHA256 of its raw
 * body, made with one of `secrets` (current first, then the previous one while a rotation is under
 * way, so rotating drops no delivery). Checked with @octokit/webhooks-methods (constant time).
 *
 * A header that cannot match is refused before the body is read: nothing unauthenticated costs
 * more than its headers. The body is then read once, as text, because the HMAC covers its exact
 * bytes; later handlers get that same text as `c.get('rawBody')` (and c.req.text()/json() use
 * Hono's cache of it), so what is parsed is exactly what was verified.
 */
import { verify } from '@octokit/webhooks-methods';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from '../../runtime/logger.js';
import type { Secret } from '../../runtime/secret.js';

export type GithubSignatureEnv = { Variables: { rawBody: string } };

export const SIGNATURE_ERRORS = {
  missing: 'missing X-Hub-Signature-256: set a secret on the GitHub webhook and NBLC_WEBHOOK_SECRET here',
  sha1Only: 'only an X-Hub-Signature (SHA-1) header was sent; nblc accepts X-Hub-Signature-256 only',
  malformed: 'malformed X-Hub-Signature-256',
  mismatch: 'X-Hub-Signature-256 does not match: the webhook secret differs from NBLC_WEBHOOK_SECRET',
} as const;

const SHA256_HEADER = /^sha256=[0-9a-f]{64}$/;

/** `logger`: where refusals are logged (an operator's first clue to a secret that differs). */
export function githubSignature(secrets: readonly Secret[], logger?: Logger): MiddlewareHandler<GithubSignatureEnv> {
  return async (c, next) => {
    const refuse = (error: string) => {
      logger?.warn(
        {
          delivery: c.req.header('x-github-delivery')?.slice(0, 100),
          event: c.req.header('x-github-event')?.slice(0, 100),
          reason: error,
        },
        'rejected webhook: bad signature',
      );
      return c.json({ error }, 401);
    };
    const signature = c.req.header('x-hub-signature-256');
    if (!signature)
      return refuse(c.req.header('x-hub-signature') ? SIGNATURE_ERRORS.sha1Only : SIGNATURE_ERRORS.missing);
    if (!SHA256_HEADER.test(signature)) return refuse(SIGNATURE_ERRORS.malformed);

    const body = await c.req.text();
    if (!(await signedByAny(secrets, body, signature))) return refuse(SIGNATURE_ERRORS.mismatch);
    c.set('rawBody', body);
    await next();
  };
}

async function signedByAny(secrets: readonly Secret[], body: string, signature: string): Promise<boolean> {
  // verify() throws on an empty payload, and no GitHub delivery is empty: it simply does not match.
  if (body.length === 0) return false;
  for (const secret of secrets) {
    if (await verify(secret.reveal(), body, signature)) return true;
  }
  return false;
}
