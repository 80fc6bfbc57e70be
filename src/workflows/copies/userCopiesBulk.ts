/**
 * Bulk `provision` or `update` of every user's copy (ID `user-copy-bulk:<mode>`): one child per
 * user, the per-user workflow itself, so a bulk run and a user's own requests never touch one
 * user's files at the same time. At most `concurrency` children run at once; one user's failure
 * is recorded and the others go on. Users are listed a page at a time in name order, and the
 * run continues-as-new every few pages, so thousands of users fit within history limits.
 */
import {
  ApplicationFailure,
  ChildWorkflowFailure,
  ParentClosePolicy,
  continueAsNew,
  executeChild,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { CopyActivities } from '../../activities/copies/index.js';
import {
  COPY_FAILURES,
  MAX_BULK_FAILURES,
  userCopyWorkflowId,
  type BulkCarry,
  type BulkInput,
  type BulkProgress,
  type BulkSummary,
  type CopyRequest,
} from '../../domain/copies/model.js';
import { userCopy } from './userCopy.js';
import { bulkProgressQuery } from '../../domain/copies/messages.js';
import { quickLookup } from '../activityOptions.js';

const DEFAULT_PAGE_SIZE = 100;
const DEFAULT_PAGES_PER_RUN = 5;
/** A user's own requests may hold their workflow for a while: wait up to ~18 minutes (1 s doubling to 30 s). */
const BUSY_RETRIES = 40;

const { listUserDirs } = proxyActivities<CopyActivities>(quickLookup());

export async function userCopiesBulk(input: BulkInput): Promise<BulkSummary> {
  const carry: BulkCarry = input.carry ?? {
    cursor: null,
    processed: 0,
    succeeded: 0,
    failed: 0,
    skipped: 0,
    created: 0,
    withConflicts: 0,
    failures: [],
    failuresDropped: 0,
    startedAt: new Date().toISOString(),
  };
  const inFlight = new Set<string>();
  let done = false;
  const progress = (): BulkProgress => ({ ...carry, mode: input.mode, dir: input.dir, inFlight: [...inFlight], done });
  setHandler(bulkProgressQuery, progress);
  const describe = () =>
    setCurrentDetails(
      `**${input.mode}** of every user's copy: ${carry.processed} done (${carry.succeeded} ok, ${carry.failed} failed), running: ${[...inFlight].join(', ') || '-'}`,
    );

  const pageSize = input.pageSize ?? DEFAULT_PAGE_SIZE;
  const pagesPerRun = input.pagesPerRun ?? DEFAULT_PAGES_PER_RUN;
  for (let pages = 0; ; pages++) {
    if (pages >= pagesPerRun || workflowInfo().continueAsNewSuggested) {
      return continueAsNew<typeof userCopiesBulk>({ ...input, carry });
    }
    const page = await listUserDirs({ after: carry.cursor, limit: pageSize });
    const todo = [...page.users];
    const runner = async () => {
      for (let user = todo.shift(); user !== undefined; user = todo.shift()) await one(user);
    };
    await Promise.all(Array.from({ length: Math.min(input.concurrency, todo.length) }, runner));
    carry.cursor = page.users.at(-1) ?? carry.cursor;
    if (!page.next) break;
  }
  done = true;
  describe();
  const { inFlight: _i, done: _d, cursor: _c, ...summary } = progress();
  return { ...summary, finishedAt: new Date().toISOString() };

  async function one(user: string): Promise<void> {
    inFlight.add(user);
    describe();
    const request: CopyRequest = {
      mode: input.mode,
      dir: input.dir,
      requestId: uuid4(),
      requestedAt: new Date().toISOString(),
    };
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          const result = await executeChild(userCopy, {
            workflowId: userCopyWorkflowId(user),
            // A child started here also serves the user's own requests meanwhile: the same cap as
            // a run the API starts (NBLC_COPY_MAX_QUEUED), not the default.
            args: [
              { user, initial: request, ...(input.maxQueued === undefined ? {} : { maxQueued: input.maxQueued }) },
            ],
            // The child may also serve requests of the user that joined it: let it finish them.
            parentClosePolicy: ParentClosePolicy.ABANDON,
            staticSummary: `${input.mode} for ${user} (bulk)`,
          });
          carry.succeeded++;
          if (result.initial?.created) carry.created++;
          if (result.initial?.counts.conflict) carry.withConflicts++;
          return;
        } catch (err) {
          // The user's workflow is busy with their own requests: wait for it.
          if (err instanceof WorkflowExecutionAlreadyStartedError && attempt < BUSY_RETRIES) {
            await sleep(Math.min(1000 * 2 ** attempt, 30_000));
            continue;
          }
          throw err;
        }
      }
    } catch (err) {
      if (!(err instanceof ChildWorkflowFailure || err instanceof WorkflowExecutionAlreadyStartedError)) throw err; // a bug
      const type =
        err instanceof ChildWorkflowFailure && err.cause instanceof ApplicationFailure ? err.cause.type : null;
      if (input.mode === 'update' && type === COPY_FAILURES.notFound) {
        carry.skipped++; // never provisioned: nothing to update
        return;
      }
      carry.failed++;
      const error =
        err instanceof ChildWorkflowFailure && err.cause
          ? err.cause.message
          : `${userCopyWorkflowId(user)} stayed busy with the user's own requests; run the bulk again later`;
      if (carry.failures.length < MAX_BULK_FAILURES) carry.failures.push({ user, error });
      else carry.failuresDropped++;
    } finally {
      carry.processed++;
      inFlight.delete(user);
      describe();
    }
  }
}
