/**
 * The cluster's frontend is not an open door: scripts/temporal-cluster.sh runs it with mutual TLS
 * on certificates `nblc temporal certs` made, so a process that merely reaches its port (a kernel,
 * a neighbour) is refused, with or without TLS, and with a certificate of another CA; nblc's own
 * certificate gets in, and the worker and API, given Temporal's standard TEMPORAL_TLS_* variables,
 * run a test of notebooks end to end over it.
 *
 *   node --import tsx --test test/system/cluster/mtls.test.ts
 */
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { removeTree } from '../../../src/activities/files.js';
import { startTestRun } from '../../../src/clients/runs/client.js';
import { notebook } from '../../../src/demo/sample-repo.js';
import {
  assertEachPassedOnce,
  clusterTls,
  clusterUnavailable,
  finishedRun,
  publishFiles,
  useCluster,
  withHosts,
} from '../../helpers/cluster.js';

const run = promisify(execFile);
const NBLC = path.resolve(import.meta.dirname, '../../../bin/nblc.js');

/** Whether a client with `tls` (false: plain gRPC) gets an answer from the frontend at `address`. */
async function answered(address: string, tls: TLSConfig | false): Promise<string> {
  try {
    const connection = await Connection.connect({ address, tls, connectTimeout: '5s' });
    try {
      await connection.withDeadline(Date.now() + 5000, () =>
        new Client({ connection }).workflowService.getSystemInfo({}),
      );
      return 'answered';
    } finally {
      await connection.close();
    }
  } catch (err) {
    return `refused: ${(err as Error).message}`;
  }
}

describe('mutual TLS on the cluster frontend', { skip: clusterUnavailable() ?? false }, () => {
  const cluster = useCluster();

  test('no certificate, or one of another CA, is refused; the project certificate gets in', async () => {
    const mine = await clusterTls(cluster.dir).tls();
    const ca = mine.serverRootCACertificate;
    assert.match(await answered(cluster.address, false), /^refused/, 'plain gRPC');
    assert.match(await answered(cluster.address, { serverRootCACertificate: ca }), /^refused/, 'TLS, no certificate');

    const other = await fs.mkdtemp(path.join(os.tmpdir(), 'nblc-other-ca-'));
    try {
      await run(process.execPath, [NBLC, 'temporal', 'certs', path.join(other, 'tls')]);
      const foreign = await clusterTls(other).tls();
      assert.match(
        await answered(cluster.address, { serverRootCACertificate: ca, clientCertPair: foreign.clientCertPair }),
        /^refused/,
        "a certificate of another CA (another cluster's)",
      );
    } finally {
      await removeTree(other);
    }
    assert.equal(await answered(cluster.address, mine), 'answered', "nblc's certificate");
    assert.equal(
      await answered(cluster.address, (await clusterTls(cluster.dir, 'ui').tls()) as TLSConfig),
      'answered',
      "the UI's certificate",
    );
  });

  test('the worker and the API, given TEMPORAL_TLS_*, sync and test notebooks over mutual TLS', async () => {
    await withHosts(cluster, 'mtls', {}, async (h) => {
      assert.ok(h.env.TEMPORAL_TLS_CLIENT_CERT_PATH, 'the hosts run with the certificate settings');
      const files = { 'a.ipynb': notebook(['print(1)']), 'b.ipynb': notebook(['x = 2', 'print(x)']) };
      await publishFiles(h, files);
      const started = await startTestRun(cluster.client, h.config, { kind: 'manual' });
      assertEachPassedOnce(await finishedRun(cluster, started.runId, 180_000), files);
    });
  });
});
