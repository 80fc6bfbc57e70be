/**
 * The per-user copy workflow's update validator makes the same check as the client and the API
 * (copyRequestProblem): requests sent around the client are refused with a typed failure, and
 * nothing is copied.
 *
 *   node --import tsx --test test/workflows/copies/userCopy-validation.test.ts
 */
import { WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import {
  COPY_FAILURES,
  userCopyWorkflowId,
  type CopyMode,
  type CopyRequest,
} from '../../../src/domain/copies/model.js';
import { createWorker } from '../../../src/process/worker.js';
import { copyRequestUpdate, userCopy } from '../../../src/workflows/copies/userCopy.js';
import { publishTree } from '../../helpers/copies.js';
import { tempDir, testConfig } from '../../helpers/fixtures.js';
import { useTestEnv, workflowBundle } from '../../helpers/temporal.js';

const env = useTestEnv();

test('the update validator refuses what the client would, with typed failures', async () => {
  const dir = await tempDir('nblc-usercopy-validation-');
  const config = testConfig(dir, '/nonexistent.git', { NBLC_TASK_QUEUE: 'copies-validation' });
  await fs.mkdir(path.join(config.usersDir, 'ada'), { recursive: true });
  await publishTree(config.cacheDir, { 'a.ipynb': '{}' });
  const worker = await createWorker(config, env.nativeConnection, { workflowBundle: await workflowBundle() });

  /** Sends `request` as the client does, without the client's own check first; the failure's message. */
  const refused = async (user: string, request: Partial<CopyRequest>): Promise<string> => {
    const args: [CopyRequest] = [
      { mode: 'latest', requestId: randomUUID(), requestedAt: new Date().toISOString(), ...request },
    ];
    const err: unknown = await env.client.workflow
      .executeUpdateWithStart(copyRequestUpdate, {
        args,
        updateId: randomUUID(),
        startWorkflowOperation: new WithStartWorkflowOperation(userCopy, {
          workflowId: userCopyWorkflowId(user),
          taskQueue: config.taskQueue,
          args: [{ user }],
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      })
      .then(
        () => assert.fail(`accepted: ${JSON.stringify(args[0])}`),
        (e: unknown) => e,
      );
    assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
    assert.ok(err.cause instanceof ApplicationFailure, String(err.cause));
    assert.equal(err.cause.type, COPY_FAILURES.invalid);
    return err.cause.message;
  };

  await worker.runUntil(async () => {
    assert.match(await refused('ada', { mode: 'provision', dir: 'x' }), /provision takes no directory/);
    assert.match(await refused('ada', { dir: '../bob' }), /invalid directory name/);
    assert.match(await refused('ada', { mode: 'delete' as CopyMode }), /unknown mode delete/);
    assert.match(await refused('ada', { requestId: '' }), /needs a requestId/);
    assert.match(await refused('.hidden', {}), /invalid user name/);
  });
  assert.deepEqual(await fs.readdir(path.join(config.usersDir, 'ada')), [], 'nothing was copied');
});
