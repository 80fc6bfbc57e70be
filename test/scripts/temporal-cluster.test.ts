/**
 * scripts/temporal-cluster.sh as an operator or CI runs it: the releases it builds
 * (scripts/temporal-build.sh) are those docker-compose.yml pins; `up` is idempotent and prints TEMPORAL_ADDRESS last
 * (after the TEMPORAL_TLS_* settings of its mutual TLS); `down` stops
 * exactly what `up` started in that directory (another cluster keeps running); `up` after `down`
 * finds its data again.
 *
 *   node --import tsx --test test/scripts/temporal-cluster.test.ts
 */
import { Connection } from '@temporalio/client';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { removeTree } from '../../src/activities/files.js';
import { CLUSTER_SCRIPT, clusterTls, clusterUnavailable } from '../helpers/cluster.js';
import { isAlive } from '../helpers/processes.js';

const run = promisify(execFile);
const script = (...args: string[]) => run('bash', [CLUSTER_SCRIPT, ...args], { timeout: 20 * 60_000 });
const text = readFileSync(path.resolve(import.meta.dirname, '../../scripts/temporal-build.sh'), 'utf8');
const pinned = (name: string) => new RegExp(`^${name}=(\\S+)$`, 'm').exec(text)?.[1];

test('the script builds the Temporal server and UI releases docker-compose.yml runs', () => {
  const compose = parse(readFileSync(path.resolve(import.meta.dirname, '../../docker-compose.yml'), 'utf8')) as {
    services: Record<string, { image?: string }>;
  };
  const tag = (service: string) => compose.services[service]?.image?.split(':')[1];
  assert.equal(pinned('TEMPORAL_VERSION'), tag('temporal'), 'temporalio/server in docker-compose.yml');
  assert.equal(pinned('TEMPORAL_VERSION'), tag('temporal-schema'), 'temporalio/admin-tools in docker-compose.yml');
  assert.equal(pinned('UI_VERSION'), tag('temporal-ui'), 'temporalio/ui in docker-compose.yml');
});

const pidOf = async (dir: string, file: string) => Number(await fs.readFile(path.join(dir, file), 'utf8'));
const postmaster = async (dir: string) =>
  Number((await fs.readFile(path.join(dir, 'pgdata', 'postmaster.pid'), 'utf8')).split('\n')[0]);

async function answers(address: string, dir: string): Promise<boolean> {
  const tls = await clusterTls(dir).tls();
  const conn = await Connection.connect({ address, tls, connectTimeout: 2000 }).catch(() => null);
  if (!conn) return false;
  try {
    await conn.withDeadline(Date.now() + 3000, () => conn.workflowService.getSystemInfo({}));
    return true;
  } catch {
    return false;
  } finally {
    await conn.close();
  }
}

describe('scripts/temporal-cluster.sh up / down', { skip: clusterUnavailable() ?? false }, () => {
  test('up twice, a second cluster beside it, down stops only its own; up again keeps the data', async () => {
    const dirs = await Promise.all([0, 1].map(() => fs.mkdtemp(path.join(os.tmpdir(), 'nblc-cluster-script-'))));
    for (const d of dirs) await fs.chmod(d, 0o755);
    const [a, b] = dirs as [string, string];
    try {
      const first = (await script('up', a)).stdout.trim().split('\n');
      const address = /^TEMPORAL_ADDRESS=(127\.0\.0\.1:\d+)$/.exec(first.at(-1)!)?.[1];
      assert.ok(address, `the last line is TEMPORAL_ADDRESS=…: ${first.at(-1)}`);
      const server = await pidOf(a, 'temporal.pid');
      const pg = await postmaster(a);
      const again = await script('up', a);
      assert.equal(again.stdout.trim().split('\n').at(-1), `TEMPORAL_ADDRESS=${address}`);
      assert.equal(await pidOf(a, 'temporal.pid'), server, 'a second up starts nothing new');
      assert.equal(await postmaster(a), pg);
      assert.match(again.stderr, /namespace default exists/);

      const other = (await script('up', b)).stdout.trim().split('\n').at(-1)!.replace('TEMPORAL_ADDRESS=', '');
      assert.notEqual(other, address, 'each directory has its own ports');
      await script('down', a);
      assert.ok(!isAlive(server) && !isAlive(pg), 'down stopped the server and PostgreSQL of its directory');
      assert.ok(await answers(other, b), 'the other cluster still answers');
      assert.ok(isAlive(await postmaster(b)));

      const back = await script('up', a);
      assert.equal(back.stdout.trim().split('\n').at(-1), `TEMPORAL_ADDRESS=${address}`, 'same port after a restart');
      assert.match(back.stderr, /namespace default exists/, 'the data survived down and up');
    } finally {
      for (const d of dirs) {
        await script('down', d).catch(() => undefined);
        await removeTree(d);
      }
    }
  });
});
