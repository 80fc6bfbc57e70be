/**
 * githubSignature(secrets): a delivery must carry X-Hub-Signature-256, the HMAC-SHA256 of its raw
 * body, made with one of `secrets` (current first, then the previous one while a rotation is under
 * way, so rotating drops no delivery). Checked with @octokit/webhooks-methods (constant time).
 *
 * A header that cannot match is refused before the body is read: nothing unauthenticated costs
 * more than its headers (in a chain with limitBody, githubSignatureHeader goes before it). The body is then read once, as text, because the HMAC covers its exact
 * bytes; later handlers get that same text as `c.get('rawBody')` (and c.req.text()/json() use
 * Hono's cache of it), so what is parsed is exactly what was verified.
 */
import { verify } from '@octokit/webhooks-methods';
import type { Context, MiddlewareHandler } from 'hono';
import type { Logger } from '../../platform/logger.js';
import type { Secret } from '../../platform/secret.js';

export type GithubSignatureEnv = { Variables: { rawBody: string } };

export const SIGNATURE_ERRORS = {
  missing: 'missing X-Hub-Signature-256: set a secret on the GitHub webhook and NBLC_WEBHOOK_SECRET here',
  sha1Only: 'only an X-Hub-Signature (SHA-1) header was sent; nblc accepts X-Hub-Signature-256 only',
  malformed: 'malformed X-Hub-Signature-256',
  mismatch: 'X-Hub-Signature-256 does not match: the webhook secret differs from NBLC_WEBHOOK_SECRET',
} as const;

const SHA256_HEADER = /^sha256=[0-9a-f]{64}$/;

type Refuse = (c: Context, error: string) => Response;

/** Logs the refusal (an operator's first clue to a secret that differs) and answers 401. */
const refusal =
  (logger?: Logger): Refuse =>
  (c, error) => {
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

/** Why the delivery's signature header cannot match any secret, from the headers alone; or null. */
function headerProblem(c: Context): string | null {
  const signature = c.req.header('x-hub-signature-256');
  if (!signature) return c.req.header('x-hub-signature') ? SIGNATURE_ERRORS.sha1Only : SIGNATURE_ERRORS.missing;
  return SHA256_HEADER.test(signature) ? null : SIGNATURE_ERRORS.malformed;
}

/**
 * githubSignatureHeader(): the header checks of githubSignature alone, for the front of a chain.
 * limitBody reads (and buffers, up to its limit) a body sent without a Content-Length, so the
 * webhook route runs this first: a delivery that cannot be authentic is refused before anything
 * of its body is read, limitBody then bounds what an authentic-looking one costs.
 */
export function githubSignatureHeader(logger?: Logger): MiddlewareHandler {
  const refuse = refusal(logger);
  return async (c, next) => {
    const problem = headerProblem(c);
    if (problem) return refuse(c, problem);
    await next();
  };
}

/** `logger`: where refusals are logged (an operator's first clue to a secret that differs). */
export function githubSignature(secrets: readonly Secret[], logger?: Logger): MiddlewareHandler<GithubSignatureEnv> {
  const refuse = refusal(logger);
  return async (c, next) => {
    const problem = headerProblem(c);
    if (problem) return refuse(c, problem);
    const body = await c.req.text();
    if (!(await signedByAny(secrets, body, c.req.header('x-hub-signature-256')!))) {
      return refuse(c, SIGNATURE_ERRORS.mismatch);
    }
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
