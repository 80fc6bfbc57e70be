/**
 * What a request costs before it is known to be wanted: the webhook refuses a delivery without a
 * usable signature before it reads a byte of the body, and the JSON routes read at most 16 KiB of
 * a larger body (413), never the whole of it. Bodies are streams that count what was pulled from
 * them; the last tests go over real HTTP. No Temporal server: none of these requests may reach
 * it (the client points nowhere, so one that did would fail).
 *
 *   node --import tsx --test test/api/body-limits.test.ts
 */
import { Client, Connection } from '@temporalio/client';
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createApp } from '../../src/api/app.js';
import { MAX_JSON_BODY_BYTES } from '../../src/api/middleware/body-limit.js';
import { userToken } from '../../src/platform/copies/user-tokens.js';
import { createLogger } from '../../src/platform/logger.js';
import { startApi, type RunningApi } from '../../src/process/server.js';
import { tempDir, testConfig } from '../helpers/fixtures.js';

const TOKEN = 'operator-token-for-the-limit-tests-0123456789';
const USER_SECRET = 'user-token-secret-for-the-limit-tests-0123456789';
const MB = 1024 * 1024;
const CHUNK = 64 * 1024;

const dir = await tempDir('nblc-api-limits-');
const config = testConfig(dir, '/nonexistent.git', { NBLC_API_TOKEN: TOKEN, NBLC_USER_TOKEN_SECRET: USER_SECRET });
const client = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
const app = createApp({ client, config, logger: createLogger('silent') });
const adaToken = userToken(config.userTokenSecret!, 'ada');

/** A body of `total` bytes of `x`, made only as it is read; `pulled()` is how much was. */
function countingBody(total: number) {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (pulled >= total) return controller.close();
        const n = Math.min(CHUNK, total - pulled);
        pulled += n;
        controller.enqueue(new Uint8Array(n).fill(0x78));
      },
    },
    { highWaterMark: 0 }, // nothing is pulled before someone reads
  );
  return { stream, pulled: () => pulled };
}

/** POSTs a streamed (chunked, no Content-Length) body of `total` bytes through app.request. */
async function post(url: string, headers: Record<string, string>, total: number) {
  const body = countingBody(total);
  const init = { method: 'POST', headers, body: body.stream, duplex: 'half' } as RequestInit;
  const res = await app.request(new Request(`http://localhost${url}`, init));
  return { res, pulled: body.pulled(), error: ((await res.json()) as { error: string }).error };
}

const webhookHeaders = { 'x-github-event': 'push', 'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958' };

describe('the webhook checks the signature header before reading the body', () => {
  test('a 24 MB delivery without X-Hub-Signature-256 is 401 and not a byte of it is read', async () => {
    const { res, pulled, error } = await post('/webhooks/github', webhookHeaders, 24 * MB);
    assert.equal(res.status, 401);
    assert.match(error, /missing X-Hub-Signature-256/);
    assert.equal(pulled, 0, `${pulled} bytes of the body were read`);
  });

  test('a malformed or SHA-1-only signature: 401, nothing read', async () => {
    const signatures: Array<Record<string, string>> = [
      { 'x-hub-signature-256': 'sha256=nothex' },
      { 'x-hub-signature': 'sha1=abc' },
    ];
    for (const signature of signatures) {
      const { res, pulled } = await post('/webhooks/github', { ...webhookHeaders, ...signature }, 24 * MB);
      assert.equal(res.status, 401, JSON.stringify(signature));
      assert.equal(pulled, 0, JSON.stringify(signature));
    }
  });

  test('a well-formed signature on a body over 25 MB: 413 once 25 MB are read, not all of it', async () => {
    const signature = { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` };
    const { res, pulled } = await post('/webhooks/github', { ...webhookHeaders, ...signature }, 40 * MB);
    assert.equal(res.status, 413);
    assert.ok(pulled <= 25 * MB + CHUNK, `${pulled} bytes read`);
  });
});

describe('POST /runs and POST /users/:user/copies read at most 16 KiB', () => {
  test('the limit is 16 KiB on both', () => assert.equal(MAX_JSON_BODY_BYTES, 16 * 1024));

  test('a 40 MB body with a valid token is 413, and only the first 16 KiB (and a chunk) are read', async () => {
    for (const [url, token] of [
      ['/runs', TOKEN],
      ['/users/ada/copies', adaToken],
      ['/users/ada/copies', TOKEN],
    ] as const) {
      const { res, pulled, error } = await post(url, { authorization: `Bearer ${token}` }, 40 * MB);
      assert.equal(res.status, 413, url);
      assert.match(error, /larger than 16384 bytes/);
      assert.ok(pulled <= MAX_JSON_BODY_BYTES + CHUNK, `${url}: ${pulled} bytes read`);
    }
  });

  test('just over 16 KiB is refused too (POST /runs used to take 64 KiB)', async () => {
    const body = JSON.stringify({ include: ['x'.repeat(MAX_JSON_BODY_BYTES)] });
    for (const url of ['/runs', '/users/ada/copies']) {
      const res = await app.request(url, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body });
      assert.equal(res.status, 413, url);
    }
  });

  test('without a valid token nothing of the body is read', async () => {
    for (const [url, token] of [
      ['/runs', adaToken],
      ['/runs', 'wrong'],
      ['/users/ada/copies', userToken(config.userTokenSecret!, 'bob')],
      ['/users/ada/copies', 'wrong'],
    ] as const) {
      const { res, pulled } = await post(url, { authorization: `Bearer ${token}` }, 40 * MB);
      assert.equal(res.status, 401, `${url} with ${token.slice(0, 8)}…`);
      assert.equal(pulled, 0, url);
    }
  });
});

describe('over real HTTP', () => {
  let server: RunningApi;
  before(async () => {
    server = await startApi({ client, config, logger: createLogger('silent') }, '127.0.0.1', 0);
  });
  after(() => server.close());

  /**
   * Sends headers and then body bytes only as the socket takes them, until the answer comes;
   * resolves the status and how much of the body had been written by then.
   */
  function send(url: string, headers: Record<string, string>, total: number, declareLength: boolean) {
    return new Promise<{ status: number; written: number }>((resolve, reject) => {
      let written = 0;
      let answered = false;
      const req = http.request(`${server.url}${url}`, {
        method: 'POST',
        headers: { ...headers, ...(declareLength ? { 'content-length': String(total) } : {}) },
      });
      req.on('response', (res) => {
        answered = true;
        res.resume();
        resolve({ status: res.statusCode ?? 0, written });
        req.destroy();
      });
      req.on('error', (err) => (answered ? undefined : reject(err)));
      const chunk = Buffer.alloc(CHUNK, 0x78);
      const write = () => {
        while (!answered && written < total) {
          written += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', write);
        }
        if (!answered) req.end();
      };
      // With a declared length, a few bytes only: the answer must not wait for the rest.
      if (declareLength) req.write(chunk.subarray(0, 1024), () => (written = 1024));
      else write();
    });
  }

  test('a declared 40 MB body is 413 at once, from its Content-Length', async () => {
    const runs = await send('/runs', { authorization: `Bearer ${TOKEN}` }, 40 * MB, true);
    assert.equal(runs.status, 413);
    const copies = await send('/users/ada/copies', { authorization: `Bearer ${adaToken}` }, 40 * MB, true);
    assert.equal(copies.status, 413);
    const webhook = await send('/webhooks/github', webhookHeaders, 24 * MB, true);
    assert.equal(webhook.status, 401);
  });

  test('a streamed 40 MB body is 413 long before the client could send it all', async () => {
    const runs = await send('/users/ada/copies', { authorization: `Bearer ${adaToken}` }, 40 * MB, false);
    assert.equal(runs.status, 413);
    // What the sockets' buffers took (a few MB on loopback), not the body.
    assert.ok(runs.written < 16 * MB, `the client had sent ${runs.written} bytes`);
    const webhook = await send('/webhooks/github', webhookHeaders, 24 * MB, false);
    assert.equal(webhook.status, 401);
    assert.ok(webhook.written < 16 * MB, `the client had sent ${webhook.written} bytes`);
  });
});
