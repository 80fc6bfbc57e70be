/** Secrets in the environment: inline or from a `*_FILE`, wrapped in Secret, and checked for length and form. */
import { readFileSync } from 'node:fs';
import { USER_TOKEN_PREFIX } from '../copies/user-tokens.js';
import { Secret } from '../secret.js';
import type { Env } from './types.js';

/** The secrets, each from NAME or NAME_FILE (readSecret); in the order loadConfig takes them. */
export const SECRET_VARIABLES = [
  'NBLC_WEBHOOK_SECRET',
  'NBLC_WEBHOOK_SECRET_PREVIOUS',
  'NBLC_API_TOKEN',
  'NBLC_GIT_TOKEN',
  'NBLC_USER_TOKEN_SECRET',
  'TEMPORAL_API_KEY',
  // A PostgreSQL URL carries its password.
  'NBLC_DATABASE_URL',
  // Incoming-webhook and SMTP URLs carry their credentials; the token sets commit statuses.
  'NBLC_ALERT_WEBHOOK_URL',
  'NBLC_SMTP_URL',
  'NBLC_GITHUB_TOKEN',
  // Signs report links, so a worker that sends alerts need not hold the operator token.
  'NBLC_LINK_SECRET',
] as const;

/** Secrets nblc makes and checks itself: at least this long, as `openssl rand -hex 32` makes them. */
export const MIN_SECRET_LENGTH = 32;
const MAKE_ONE = '(e.g. `openssl rand -hex 32`)';
/**
 * What hono's bearerAuth accepts as a token (RFC 6750's b64token): it answers 400 to any other,
 * so an NBLC_API_TOKEN with a character outside these would lock every operator out.
 */
export const BEARER_TOKEN = /^[A-Za-z0-9._~+/-]+=*$/;

/**
 * Why a secret nblc checks is not acceptable. Whitespace around it is a copy-paste or editor
 * accident (a trailing CR, a space) that the other side of the secret does not have; the minimum
 * makes guessing hopeless. `previous`: the secret being rotated out, exempt from the minimum, so
 * rotating is how a short secret is replaced without dropping deliveries.
 */
export function secretProblems(
  name: string,
  secret: Secret | undefined,
  opts: { bearer?: boolean; previous?: boolean } = {},
) {
  if (!secret) return [];
  const value = secret.reveal();
  const problems: string[] = [];
  if (value.trim() !== value) problems.push(`${name}: has whitespace at its start or end; write it again ${MAKE_ONE}`);
  if (!opts.previous && value.length < MIN_SECRET_LENGTH)
    problems.push(`${name}: use at least ${MIN_SECRET_LENGTH} characters ${MAKE_ONE}`);
  if (opts.bearer && value.trim() === value && !BEARER_TOKEN.test(value))
    problems.push(
      `${name}: only letters, digits and . _ ~ + / - (then = padding) can be sent as a bearer token ${MAKE_ONE}`,
    );
  if (opts.bearer && value.startsWith(USER_TOKEN_PREFIX))
    problems.push(`${name}: must not start with ${USER_TOKEN_PREFIX}, which marks users' own tokens`);
  return problems;
}

/** Reads `NAME` or the file named by `NAME_FILE` (trailing newline stripped). */
export function readSecret(env: Env, name: string, problems: string[]): Secret | undefined {
  const inline = env[name];
  const file = env[`${name}_FILE`];
  if (inline && file) {
    problems.push(`${name}: set either ${name} or ${name}_FILE, not both`);
    return undefined;
  }
  if (file) {
    try {
      // An empty file means "not set": compose needs a file for every declared secret.
      const value = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
      return value ? new Secret(value) : undefined;
    } catch (err) {
      problems.push(`${name}_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? err})`);
      return undefined;
    }
  }
  return inline ? new Secret(inline) : undefined;
}
