/**
 * One workflow per user (ID `user-copy:<user>`) runs that user's copy requests one at a time.
 *
 * - Clients (the API, `nblc copy`, `getlatest`) send a request as an update with start: it joins
 *   the open run, or starts one. The update's result is the request's result, so the caller gets
 *   the path and the per-file report.
 * - The bulk workflow starts the run as a child with the request in `initial` (a child cannot be
 *   updated); when a run is open it waits and tries again.
 * - Requests queue in arrival order and run one at a time; the run ends when the queue is empty.
 *   At most `maxQueued` wait behind the running one; the validator refuses more (QUEUE_FULL).
 *   Once its history is long it stops taking requests (the validator rejects them without a trace
 *   in the history; the client retries, and the next run takes them).
 */
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { CopyActivities } from '../../activities/copies/index.js';
import {
  COPY_FAILURES,
  COPY_SA,
  DEFAULT_MAX_QUEUED_COPIES,
  DRAINING,
  QUEUE_FULL,
  NON_RETRYABLE_COPY_FAILURES,
  copyRequestProblem,
  summarize,
  type CopyRequest,
  type CopyResult,
  type CopySummary,
  type UserCopyInput,
  type UserCopyRunResult,
  type UserCopyStatus,
} from '../../domain/copies/model.js';
import { longFileWork } from '../activityOptions.js';
import { copyRequestUpdate, userCopyStatusQuery } from '../../domain/copies/messages.js';

// Defined in the domain (the client sends them without loading this code).
export { copyRequestUpdate, userCopyStatusQuery };

const DEFAULT_MAX_HISTORY_EVENTS = 2000;

// Copies of a large suite take seconds to minutes; the heartbeat notices a lost worker fast.
// Bad names, unsafe paths, missing copies are typed non-retryable by the activities.
const copyActivities = proxyActivities<CopyActivities>(longFileWork(NON_RETRYABLE_COPY_FAILURES));

type Outcome = { ok: true; value: CopyResult } | { ok: false; error: ApplicationFailure };

export async function userCopy(input: UserCopyInput): Promise<UserCopyRunResult> {
  const queue: CopyRequest[] = input.initial ? [input.initial] : [];
  const results = new Map<string, Outcome>();
  let running: UserCopyStatus['running'] = null;
  let handled = 0;
  let draining = false;
  const maxQueued = input.maxQueued ?? DEFAULT_MAX_QUEUED_COPIES;

  setHandler(
    copyRequestUpdate,
    async (request) => {
      queue.push(request);
      describe();
      await condition(() => results.has(request.requestId));
      const outcome = results.get(request.requestId)!;
      results.delete(request.requestId);
      if (!outcome.ok) throw outcome.error;
      return outcome.value;
    },
    {
      validator: (request) => {
        if (draining)
          throw ApplicationFailure.create({
            type: DRAINING,
            message: 'this run is finishing; retry',
            nonRetryable: true,
          });
        // The client checked too, but an update can come from anywhere (the Temporal CLI, another
        // client); the requestId is this workflow's own need (its results are keyed by it).
        const problem =
          copyRequestProblem(input.user, request) ?? (request.requestId ? null : 'a request needs a requestId');
        if (problem)
          throw ApplicationFailure.create({ type: COPY_FAILURES.invalid, message: problem, nonRetryable: true });
        // The per-user cap: each request may copy the whole suite. Refused here, the request
        // leaves no trace in the history (validators do not write to it), so replay is unaffected.
        const pending = queue.length + (running ? 1 : 0);
        if (pending > maxQueued)
          throw ApplicationFailure.create({
            type: QUEUE_FULL,
            message: `${input.user} has ${pending} copy requests running or waiting (at most ${maxQueued} may wait): try again when they are done`,
            nonRetryable: true,
          });
      },
    },
  );
  setHandler(userCopyStatusQuery, () => ({
    user: input.user,
    running,
    queued: queue.map(({ requestId, mode, dir }) => ({ requestId, mode, dir })),
    handled,
    draining,
  }));

  function describe(): void {
    const lines = [`**${input.user}**: ${handled} request(s) done, ${queue.length} queued`];
    if (running)
      lines.push(`running: ${running.mode}${running.dir ? ` ${running.dir}` : ''} (since ${running.startedAt})`);
    setCurrentDetails(lines.join('\n\n'));
  }

  upsertSearchAttributes([{ key: COPY_SA.user, value: input.user }]);
  const maxEvents = input.maxHistoryEvents ?? DEFAULT_MAX_HISTORY_EVENTS;
  let initial: CopySummary | null = null;
  let initialError: ApplicationFailure | null = null;

  for (;;) {
    const request = queue.shift();
    if (!request) {
      // Nothing queued: end once every handler has handed its result back (a request arriving
      // meanwhile lands in the queue first, in the same activation).
      await condition(allHandlersFinished);
      if (queue.length === 0) break;
      continue;
    }
    const outcome = await run(request);
    handled++;
    if (request === input.initial) {
      if (outcome.ok) initial = summarize(outcome.value);
      else initialError = outcome.error;
    } else {
      results.set(request.requestId, outcome);
    }
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= maxEvents) draining = true;
  }
  // A bulk child fails visibly, after the requests that joined it were served.
  if (initialError) throw initialError;
  return { user: input.user, handled, initial };

  async function run(request: CopyRequest): Promise<Outcome> {
    running = {
      requestId: request.requestId,
      mode: request.mode,
      dir: request.dir,
      startedAt: new Date().toISOString(),
    };
    describe();
    const activity = {
      provision: copyActivities.provisionCopy,
      latest: copyActivities.latestCopy,
      update: copyActivities.updateCopy,
    }[request.mode];
    try {
      const summary = `${request.mode}${request.dir ? ` ${request.dir}` : ''} for ${input.user}`;
      const value = await activity.executeWithOptions({ summary }, [{ user: input.user, request }]);
      return { ok: true, value };
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err; // a bug: fail the task visibly
      const cause = err.cause;
      const type = cause instanceof ApplicationFailure && cause.type ? cause.type : 'CopyFailed';
      return {
        ok: false,
        error: ApplicationFailure.create({ type, message: cause?.message ?? err.message, nonRetryable: true }),
      };
    } finally {
      running = null;
      describe();
    }
  }
}
