/**
 * X-Hub-Signature-256 verification (HMAC-SHA256 of the raw body) with @octokit/webhooks-methods,
 * trying each configured secret so a secret can be rotated without dropping deliveries.
 */
import { verify } from '@octokit/webhooks-methods';
import type { Secret } from '../runtime/secret.js';

export type SignatureCheck = { ok: true } | { ok: false; error: string };

const SHA256_HEADER = /^sha256=[0-9a-f]{64}$/;

export async function checkSignature(
  secrets: Secret[],
  body: string,
  sha256Header: string | undefined,
  sha1Header: string | undefined,
): Promise<SignatureCheck> {
  if (!sha256Header) {
    return {
      ok: false,
      error: sha1Header
        ? 'only an X-Hub-Signature (SHA-1) header was sent; nblc accepts X-Hub-Signature-256 only'
        : 'missing X-Hub-Signature-256: set a secret on the GitHub webhook and NBLC_WEBHOOK_SECRET here',
    };
  }
  if (!SHA256_HEADER.test(sha256Header)) return { ok: false, error: 'malformed X-Hub-Signature-256' };
  if (body.length > 0) {
    for (const secret of secrets) {
      if (await verify(secret.reveal(), body, sha256Header)) return { ok: true };
    }
  }
  return {
    ok: false,
    error: 'X-Hub-Signature-256 does not match: the webhook secret differs from NBLC_WEBHOOK_SECRET',
  };
}
