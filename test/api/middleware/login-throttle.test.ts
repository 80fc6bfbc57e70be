/**
 * /login counts wrong tokens per client address: past the limit the address gets 429 with
 * Retry-After, even with the right token, while another address still logs in. A real server
 * (the address is the socket's), no Temporal (login never reaches it).
 *   node --import tsx --test test/api/middleware/login-throttle.test.ts
 */
import { Client, Connection } from '@temporalio/client';
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { LOGIN_FAILURES_PER_WINDOW } from '../../../src/api/middleware/login-throttle.js';
import { createLogger } from '../../../src/platform/logger.js';
import { startApi } from '../../../src/process/server.js';
import { tempDir, testConfig } from '../../helpers/fixtures.js';

const TOKEN = 'operator-token-for-the-throttle-tests-0123456789';

test('wrong tokens from one address end in 429 for that address only, the right token included', async () => {
  const config = testConfig(await tempDir('nblc-throttle-'), '/nonexistent.git', { NBLC_API_TOKEN: TOKEN });
  const client = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
  const logger = createLogger('silent');
  const api = await startApi({ client, config, logger }, '127.0.0.1', 0);
  /** POST /login from `from` (a loopback address of the client's socket). */
  const login = (from: string, token: string) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
      const origin = `http://127.0.0.1:${api.port}`;
      const body = new URLSearchParams({ token, next: '/' }).toString();
      const req = http.request(
        `${origin}/login`,
        {
          method: 'POST',
          localAddress: from,
          headers: { origin, 'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  try {
    for (let i = 0; i < LOGIN_FAILURES_PER_WINDOW; i++) assert.equal((await login('127.0.0.1', 'guess')).status, 401);
    const blocked = await login('127.0.0.1', TOKEN);
    assert.equal(blocked.status, 429);
    assert.ok(Number(blocked.headers['retry-after']) > 0);
    assert.equal((await login('127.0.0.1', 'guess')).status, 429);
    // Another client address is not held up by the first one's guesses.
    const other = await login('127.0.0.2', TOKEN);
    assert.equal(other.status, 303);
    assert.match(String(other.headers['set-cookie'] ?? ''), /nblc_session=/);
  } finally {
    await api.close();
  }
});
