/**
 * Kernels a notebook worker process runs at once, across its task queues: a worker with
 * NBLC_WORKER_LABELS polls one queue per label set (contract.ts), and each Temporal worker
 * counts only its own activities, so NBLC_TEST_CONCURRENCY is held here for them all.
 */
export class Slots {
  private free: number;
  /** Waiters in the order they get a slot: `first` ones ahead of every other. */
  private readonly waiting: Array<{ take: () => void; first: boolean }> = [];

  /** `size` kernels at once. */
  constructor(size: number) {
    this.free = Math.max(1, size);
  }

  /**
   * Waits for a free slot (calling `whileWaiting` every few seconds: the activity's heartbeat),
   * runs `fn`, frees the slot; an abort while waiting gives up without taking one. `first`: goes
   * ahead of the waiters without it (a merge or scheduled run's notebook before a pull request's).
   */
  async run<T>(fn: () => Promise<T>, whileWaiting: () => void, signal?: AbortSignal, first = false): Promise<T> {
    if (this.free > 0) this.free--;
    else await this.wait(whileWaiting, signal, first);
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next.take();
      else this.free++;
    }
  }

  /** Queued until a running `fn` ends and hands its slot on. */
  private wait(whileWaiting: () => void, signal: AbortSignal | undefined, first: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setInterval(whileWaiting, 5000);
      const entry = {
        first,
        take: () => {
          clearInterval(timer);
          signal?.removeEventListener('abort', abort);
          resolve();
        },
      };
      const abort = () => {
        clearInterval(timer);
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(
          signal?.reason instanceof Error ? signal.reason : new Error('cancelled while waiting for a kernel slot'),
        );
      };
      const behind = first ? this.waiting.findIndex((w) => !w.first) : -1;
      if (behind >= 0) this.waiting.splice(behind, 0, entry);
      else this.waiting.push(entry);
      signal?.addEventListener('abort', abort, { once: true });
    });
  }
}

/**
 * The kernel slots of a notebook worker process and, within them, the pull requests' share
 * (NBLC_PR_CONCURRENCY): unreviewed code never holds every kernel (one stays for merge and
 * scheduled runs when there are two or more), and a trusted notebook waiting for a kernel goes
 * ahead of the pull requests' waiting ones. Held per process, across all its task queues.
 */
export class KernelSlots {
  readonly kernels: Slots;
  readonly pullRequests: Slots;

  /** `concurrency` kernels (NBLC_TEST_CONCURRENCY), `prConcurrency` of them for pull requests at most. */
  constructor(concurrency: number, prConcurrency: number) {
    this.kernels = new Slots(concurrency);
    this.pullRequests = new Slots(prCap(concurrency, prConcurrency));
  }

  /** Runs `fn` in a kernel slot, and in a pull-request slot first when `pullRequest`. */
  run<T>(pullRequest: boolean, fn: () => Promise<T>, whileWaiting: () => void, signal?: AbortSignal): Promise<T> {
    if (!pullRequest) return this.kernels.run(fn, whileWaiting, signal, true);
    return this.pullRequests.run(() => this.kernels.run(fn, whileWaiting, signal), whileWaiting, signal);
  }
}

/** Pull-request notebooks at once: NBLC_PR_CONCURRENCY, leaving one kernel free when there are two or more. */
export function prCap(concurrency: number, prConcurrency: number): number {
  return Math.max(1, Math.min(prConcurrency, concurrency > 1 ? concurrency - 1 : 1));
}
