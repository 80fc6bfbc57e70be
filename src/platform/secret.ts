import { createHmac, timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';

/**
 * A string that refuses to be printed: logging, JSON-serializing or interpolating it yields
 * `[redacted]`. Call {@link reveal} only at the point of use (HMAC check, git auth header).
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[redacted]';
  }

  toJSON(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return 'Secret([redacted])';
  }
}

/**
 * Removes credentials from text that may end up in a log, an error message or a workflow
 * history: userinfo in URLs (`https://user:token@host`) and the literal values given.
 */
export function redact(text: string, secrets: Array<Secret | undefined> = []): string {
  let out = text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@');
  for (const s of secrets) {
    const v = s?.reveal();
    if (v && v.length >= 4) out = out.split(v).join('***');
  }
  return out;
}

/**
 * A token derived from a secret, for what needs no stored state (users' tokens, report links):
 * base64url HMAC-SHA256 of `parts` joined by NUL, the first part naming the purpose and version.
 */
export function macOf(secret: Secret, ...parts: string[]): string {
  return createHmac('sha256', secret.reveal()).update(parts.join('\0')).digest('base64url');
}

/** Compares a presented token with the expected one in constant time. */
export function sameToken(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
