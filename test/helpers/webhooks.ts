/** GitHub webhook deliveries as GitHub sends them (signed, with its headers), and apps to send them to. */
import { sign } from '@octokit/webhooks-methods';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Hono } from 'hono';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createApp } from '../../src/api/app.js';
import type { Env } from '../../src/platform/config.js';
import { createLogger } from '../../src/platform/logger.js';
import { syncWorkflowId } from '../../src/domain/sync/model.js';
import { TEST_REPO, TEST_SECRET, testConfig } from './fixtures.js';

export const hex40 = (c: string) => c.repeat(40);
/** A push's before and after commits, where their contents do not matter. */
export const BEFORE = hex40('a');
export const AFTER = hex40('b');

export interface Delivery {
  /** X-GitHub-Event (default: push); null leaves the header out. */
  event?: string | null;
  /** X-GitHub-Delivery; null leaves the header out. */
  delivery?: string | null;
  /** The secret the body is signed with (default: TEST_SECRET). */
  secret?: string;
  /** X-Hub-Signature-256 as sent; null leaves it out (default: a valid signature with `secret`). */
  signature?: string | null;
  headers?: Record<string, string>;
}

/** POST /webhooks/github of `payload` (JSON unless a string) to `app`. */
export async function deliverWebhook(app: Hono, payload: unknown, o: Delivery = {}): Promise<Response> {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'GitHub-Hookshot/test' };
  if (o.event !== null) headers['x-github-event'] = o.event ?? 'push';
  if (o.delivery !== null) headers['x-github-delivery'] = o.delivery ?? randomUUID();
  const signature = o.signature === undefined ? await sign(o.secret ?? TEST_SECRET, body) : o.signature;
  if (signature !== null) headers['x-hub-signature-256'] = signature;
  Object.assign(headers, o.headers);
  return app.request('/webhooks/github', { method: 'POST', headers, body });
}

/** The JSON body of an answer, which must say it is JSON. */
export async function jsonBody(res: Response): Promise<Record<string, unknown>> {
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  return (await res.json()) as Record<string, unknown>;
}

/** Apps for repositories of their own on `env`'s server, and the check that a delivery started nothing. */
export function webhookApps(env: TestWorkflowEnvironment, dir: string) {
  let repoCounter = 0;
  return {
    /** A repository full name no other test uses, so workflow IDs never collide. */
    uniqueRepo: (label: string) => `${TEST_REPO}-${label}-${++repoCounter}`,

    appFor(repo: string, extraEnv: Env = {}, client?: Client): Hono {
      const config = testConfig(dir, 'file:///nonexistent/notebooks.git', {
        NBLC_REPO_FULL_NAME: repo,
        TEMPORAL_NAMESPACE: env.namespace ?? 'default',
        NBLC_TEMPORAL_UI_URL: 'http://temporal-ui.example:8233',
        ...extraEnv,
      });
      return createApp({ client: client ?? env.client, config, logger: createLogger('silent') });
    },

    async assertNothingStarted(repo: string): Promise<void> {
      await assert.rejects(
        env.client.workflow.getHandle(syncWorkflowId(repo)).describe(),
        WorkflowNotFoundError,
        `a workflow was started for ${repo}`,
      );
    },
  };
}
