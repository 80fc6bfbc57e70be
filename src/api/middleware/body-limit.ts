/**
 * limitBody(maxBytes): hono/body-limit answering 413 in JSON like every other error of the API.
 * It goes before anything that reads the body, so an oversized delivery is refused unread when it
 * declares its length, and is never buffered past the limit when it does not.
 */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';

export function limitBody(maxBytes: number): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) => c.json({ error: `payload larger than ${maxBytes} bytes` }, 413),
  });
}
