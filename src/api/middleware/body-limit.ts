/**
 * limitBody(maxBytes): hono/body-limit answering 413 in JSON like every other error of the API.
 * It goes before anything that reads the body, so an oversized delivery is refused unread when it
 * declares its length, and is never buffered past the limit when it does not. It does read (and
 * buffer) a body sent without a Content-Length up to the limit, so whatever can refuse a request
 * from its headers (authentication, the webhook's signature header) goes before it.
 */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';

/**
 * The JSON routes' limit (POST /runs, POST /users/:user/copies): their requests are a few globs
 * and numbers, or a mode and a name, far below it; anything larger is a mistake, or worse.
 */
export const MAX_JSON_BODY_BYTES = 16 * 1024;

export function limitBody(maxBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) => c.json({ error: `payload larger than ${maxBytes} bytes` }, 413),
  });
}
