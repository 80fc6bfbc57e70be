/** Task queue names that workflows and workers agree on (pure: workflows import it). */

/**
 * Where a pull request's notebooks go: a queue of their own (with its label queues), which each
 * notebook worker polls with at most NBLC_PR_CONCURRENCY at once, so that many open pull
 * requests never hold the queue that merge and scheduled runs take their notebooks from.
 */
export function prTaskQueue(notebookTaskQueue: string): string {
  return `${notebookTaskQueue}-pr`;
}
