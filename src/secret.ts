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
