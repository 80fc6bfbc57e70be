/**
 * zodJson (and limitBody before it) on a bare Hono app: parsing, the 400 answers, an empty body,
 * a body another middleware read first, and the typed value handed on.
 *
 *   node --import tsx --test test/api/middleware/zod-json.test.ts
 */
import { Hono } from 'hono';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { limitBody } from '../../../src/api/middleware/body-limit.js';
import { zodJson, zodProblems, type ZodJsonMessages } from '../../../src/api/middleware/zod-json.js';

const schema = z.strictObject({
  n: z.number().int().min(1),
  tags: z.array(z.object({ name: z.string().min(1) })).optional(),
});
const MESSAGES: ZodJsonMessages = { notJson: 'the body must be JSON: {"n": 1}', invalid: 'invalid thing' };

function appWith(messages: ZodJsonMessages = MESSAGES) {
  const seen: Array<z.output<typeof schema>> = [];
  const app = new Hono();
  app.post('/', limitBody(1024), zodJson(schema, messages), (c) => {
    const value = c.req.valid('json'); // typed: value.n is a number
    seen.push(value);
    return c.json({ n: value.n + 1 });
  });
  return { app, seen };
}

const post = (app: Hono, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  app.request('/', { method: 'POST', headers, body });

test('a valid body reaches the handler as c.req.valid("json"), with or without a JSON Content-Type', async () => {
  const { app, seen } = appWith();
  const res = await post(app, '{"n": 2, "tags": [{"name": "a"}]}');
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { n: 3 });
  // curl -d and scripts often send no (or a form) Content-Type: the body is still what counts.
  assert.equal((await post(app, '{"n": 5}', {})).status, 200);
  assert.equal((await post(app, '{"n": 6}', { 'content-type': 'text/plain' })).status, 200);
  assert.deepEqual(
    seen.map((v) => v.n),
    [2, 5, 6],
  );
});

test("a body that is not JSON is 400 with the route's message and no problem list", async () => {
  const { app, seen } = appWith();
  for (const body of ['not json', '{"n": 1', 'payload=%7B%7D', '']) {
    const res = await post(app, body);
    assert.equal(res.status, 400, body);
    assert.deepEqual(await res.json(), { error: MESSAGES.notJson }, body);
  }
  assert.deepEqual(seen, []);
});

test('JSON that does not fit is 400 {error, problems: ["path: message"]}', async () => {
  const { app, seen } = appWith();
  const res = await post(app, JSON.stringify({ n: 0, tags: [{ name: '' }], surprise: true }));
  assert.equal(res.status, 400);
  const body = (await res.json()) as { error: string; problems: string[] };
  assert.deepEqual(Object.keys(body).sort(), ['error', 'problems']);
  assert.equal(body.error, 'invalid thing');
  assert.ok(
    body.problems.some((p) => p.startsWith('n: ')),
    JSON.stringify(body.problems),
  );
  assert.ok(
    body.problems.some((p) => p.startsWith('tags.0.name: ')),
    JSON.stringify(body.problems),
  );
  assert.ok(
    body.problems.some((p) => /^\(root\): .*surprise/.test(p)),
    JSON.stringify(body.problems),
  );

  const notAnObject = (await (await post(app, '[]')).json()) as { problems: string[] };
  assert.match(notAnObject.problems[0]!, /^\(root\): /);
  assert.deepEqual(seen, []);
});

test('`empty` is the value of an empty body; without it an empty body is not JSON', async () => {
  const { app, seen } = appWith({ ...MESSAGES, empty: { n: 1 } });
  assert.equal((await app.request('/', { method: 'POST' })).status, 200);
  assert.equal((await post(app, '  \n')).status, 200);
  assert.deepEqual(seen, [{ n: 1 }, { n: 1 }]);
  assert.equal((await post(app, 'not json')).status, 400, '`empty` does not excuse a body that is not JSON');
});

test('a body a middleware before already read (as the signature check does) is parsed from that read', async () => {
  const app = new Hono();
  let read = '';
  app.post(
    '/',
    async (c, next) => {
      read = await c.req.text();
      await next();
    },
    zodJson(schema, MESSAGES),
    (c) => c.json(c.req.valid('json')),
  );
  const res = await post(app, '{"n": 7}');
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { n: 7 });
  assert.equal(read, '{"n": 7}');
});

test('limitBody: a body over the limit is 413 JSON, before it is parsed', async () => {
  const { app, seen } = appWith();
  const big = JSON.stringify({ n: 1, tags: [{ name: 'x'.repeat(2000) }] });
  const declared = await post(app, big);
  assert.equal(declared.status, 413);
  assert.deepEqual(await declared.json(), { error: 'payload larger than 1024 bytes' });
  // Streamed, without a Content-Length: counted as it arrives.
  const stream = new Blob([big]).stream();
  const streamed = await app.request('/', { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
  assert.equal(streamed.status, 413);
  assert.deepEqual(seen, []);
});

test('zodProblems names nested paths and the root', () => {
  const parsed = schema.safeParse({ n: 'x', tags: [{}] });
  assert.ok(!parsed.success);
  const problems = zodProblems(parsed.error);
  assert.ok(problems.some((p) => p.startsWith('n: ')));
  assert.ok(problems.some((p) => p.startsWith('tags.0.name: ')));
  assert.deepEqual(zodProblems(z.object({}).safeParse(null).error!), [
    `(root): ${z.object({}).safeParse(null).error!.issues[0]!.message}`,
  ]);
});
