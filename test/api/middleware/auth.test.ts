/**
 * operatorAuth (hono's bearerAuth) on a bare Hono app, against what loadConfig accepts as
 * NBLC_API_TOKEN: hono answers 400 to any token outside RFC 6750's b64token characters, so a token
 * with one of them would lock every operator out. loadConfig must refuse exactly those.
 *
 *   node --import tsx --test test/api/middleware/auth.test.ts
 */
import { Hono } from 'hono';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { operatorAuth } from '../../../src/api/middleware/auth.js';
import { ConfigError, loadConfig } from '../../../src/platform/config.js';
import { Secret } from '../../../src/platform/secret.js';

const base = { NBLC_REPO_URL: '/srv/notebooks.git', NBLC_REPO_FULL_NAME: 'org/notebooks' };
const HEX = '0123456789abcdef0123456789abcdef';

async function status(token: string): Promise<number> {
  const app = new Hono();
  app.onError(
    (err) => (err as { getResponse?: () => Response }).getResponse?.() ?? new Response(null, { status: 500 }),
  );
  app.get('/', operatorAuth(new Secret(token)), (c) => c.text('ok'));
  return (await app.request('/', { headers: { authorization: `Bearer ${token}` } })).status;
}

function accepted(token: string): boolean {
  try {
    loadConfig({ ...base, NBLC_API_TOKEN: token });
    return true;
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return false;
  }
}

test('a token loadConfig accepts opens the operator routes; one it refuses for its characters could not', async () => {
  const printable = Array.from({ length: 0x7f - 0x21 }, (_, i) => String.fromCharCode(0x21 + i));
  for (const char of [...printable, 'é', '\u00a0']) {
    for (const token of [`${HEX}${char}x`, `${HEX}${char}`]) {
      const opens = (await status(token)) === 200;
      assert.equal(accepted(token), opens, `${JSON.stringify(token)}: bearer ${opens ? 'opens' : 'refuses'}`);
    }
  }
});
