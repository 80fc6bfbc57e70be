/**
 * `nblc temporal setup` and the worker's start-up check, as operators run them (real processes),
 * against a real Temporal dev server; each test uses its own namespace.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SEARCH_ATTRIBUTES } from '../../src/domain/search-attributes.js';
import { runNblcAsync, startNblc } from '../helpers/processes.js';
import { useTestEnv } from '../helpers/temporal.js';

const env = useTestEnv();
const base = () => ({
  TEMPORAL_ADDRESS: env.address,
  NBLC_REPO_URL: '/nowhere',
  NBLC_REPO_FULL_NAME: 'test/setup',
  NBLC_TEST_CRON: 'off',
});

async function customAttributes(namespace: string): Promise<Record<string, number>> {
  const res = await env.connection.operatorService.listSearchAttributes({ namespace });
  return res.customAttributes ?? {};
}

describe('nblc temporal setup', () => {
  test('creates the namespace and registers every search attribute; a second run changes nothing', async () => {
    const ns = 'setup-fresh';
    const first = await runNblcAsync(['temporal', 'setup', '--retention', '2d'], { ...base(), TEMPORAL_NAMESPACE: ns });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`namespace ${ns} created \\(retention 2d\\)`));
    const listed = await customAttributes(ns);
    for (const sa of SEARCH_ATTRIBUTES) {
      assert.ok(sa.name in listed, `${sa.name} is not registered`);
      assert.match(first.stdout, new RegExp(`search attribute ${sa.name} \\(\\w+\\) registered`));
    }
    const described = await env.connection.workflowService.describeNamespace({ namespace: ns });
    assert.equal(Number(described.config?.workflowExecutionRetentionTtl?.seconds), 2 * 86_400);

    const again = await runNblcAsync(['temporal', 'setup'], { ...base(), TEMPORAL_NAMESPACE: ns });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`namespace ${ns} exists`));
    assert.doesNotMatch(again.stdout, /\) registered$/m, 'nothing is registered twice');
    assert.equal((again.stdout.match(/is registered/g) ?? []).length, SEARCH_ATTRIBUTES.length);
  });

  test('the worker refuses to start on a namespace without the search attributes, naming the fix', async () => {
    const ns = 'setup-bare';
    await env.connection.workflowService.registerNamespace({
      namespace: ns,
      workflowExecutionRetentionPeriod: { seconds: 86_400 as unknown as Long },
    });
    const workerEnv = { ...base(), TEMPORAL_NAMESPACE: ns };
    const refused = await runNblcAsync(['worker'], workerEnv, 60_000);
    assert.equal(refused.code, 2, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /lacks nblc's search attributes NblcRepo, .*NblcUser: run `nblc temporal setup`/);

    const setup = await runNblcAsync(['temporal', 'setup'], workerEnv);
    assert.equal(setup.code, 0, setup.stderr);
    const worker = startNblc(['worker'], workerEnv);
    try {
      await worker.waitFor(/nblc is running/);
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
  });

  test('a missing namespace, a search attribute of another type, no TEMPORAL_ADDRESS: exit status 2 and what to do', async () => {
    const missing = await runNblcAsync(['worker'], { ...base(), TEMPORAL_NAMESPACE: 'setup-none' }, 60_000);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /namespace setup-none does not exist .*run `nblc temporal setup`/);

    const ns = 'setup-clash';
    await env.connection.workflowService.registerNamespace({
      namespace: ns,
      workflowExecutionRetentionPeriod: { seconds: 86_400 as unknown as Long },
    });
    await new Promise((r) => setTimeout(r, 1500)); // the new namespace reaches the frontend's cache
    await env.connection.operatorService.addSearchAttributes({ namespace: ns, searchAttributes: { NblcUser: 3 } }); // Int
    const clash = await runNblcAsync(['temporal', 'setup'], { ...base(), TEMPORAL_NAMESPACE: ns });
    assert.equal(clash.code, 2, clash.stdout + clash.stderr);
    assert.match(clash.stderr, /NblcUser is Int, nblc writes Keyword/);

    const noAddress = await runNblcAsync(['temporal', 'setup'], { ...base(), TEMPORAL_ADDRESS: '' });
    assert.equal(noAddress.code, 2);
    assert.match(noAddress.stderr, /TEMPORAL_ADDRESS is not set/);
  });
});

type Long = import('long').default;
