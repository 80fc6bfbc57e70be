/**
 * zodJson(schema, messages): the one validator of JSON request bodies. Parses the body, validates
 * it with `schema` and hands the result on as `c.req.valid('json')`, typed; a body that is not
 * JSON, or does not fit, is answered 400 `{error, problems: ["path: message"]}` here.
 *
 * Written after hono/validator, which it does not use: that one's 'json' target takes a body sent
 * without a JSON Content-Type as `{}`, and curl users and scripts often leave the header out. The
 * body is read with c.req.text(), which Hono caches, so a body a middleware before read (the
 * webhook's signed one) is not read again.
 */
import type { Env, MiddlewareHandler } from 'hono';
import type { z } from 'zod';

export interface ZodJsonMessages {
  /** `error` when the body is not JSON: say what is expected. */
  notJson: string;
  /** `error` when it is JSON but does not fit the schema (the problems are listed beside it). */
  invalid: string;
  /** The value an empty body stands for; without it, an empty body is not JSON. */
  empty?: unknown;
}

/** The input and output types Hono's `c.req.valid('json')` sees, as hono/validator declares them. */
type JsonInput<S extends z.ZodType> = { in: { json: z.input<S> }; out: { json: z.output<S> } };

export function zodJson<S extends z.ZodType, E extends Env = Env, P extends string = string>(
  schema: S,
  messages: ZodJsonMessages,
): MiddlewareHandler<E, P, JsonInput<S>> {
  return async (c, next) => {
    const text = await c.req.text();
    let value: unknown = messages.empty;
    if (text.trim() !== '' || !('empty' in messages)) {
      try {
        value = JSON.parse(text);
      } catch {
        return c.json({ error: messages.notJson }, 400);
      }
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) return c.json({ error: messages.invalid, problems: zodProblems(parsed.error) }, 400);
    c.req.addValidatedData('json', parsed.data as object);
    await next();
  };
}

/** Each issue as "path: message"; "(root)" for the body as a whole (a wrong type, unknown keys). */
export function zodProblems(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
}
