/**
 * Kernels a notebook worker process runs at once, across its task queues: a worker with
 * NBLC_WORKER_LABELS polls one queue per label set (contract.ts), and each Temporal worker
 * counts only its own activities, so NBLC_TEST_CONCURRENCY is held here for them all.
 */
export class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  /** `size` kernels at once. */
  constructor(size: number) {
    this.free = Math.max(1, size);
  }

  /**
   * Waits for a free slot (calling `whileWaiting` every few seconds: the activity's heartbeat),
   * runs `fn`, frees the slot; an abort while waiting gives up without taking one.
   */
  async run<T>(fn: () => Promise<T>, whileWaiting: () => void, signal?: AbortSignal): Promise<T> {
    if (this.free > 0) this.free--;
    else await this.wait(whileWaiting, signal);
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }

  /** Queued until a running `fn` ends and hands its slot on. */
  private wait(whileWaiting: () => void, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setInterval(whileWaiting, 5000);
      const take = () => {
        clearInterval(timer);
        signal?.removeEventListener('abort', abort);
        resolve();
      };
      const abort = () => {
        clearInterval(timer);
        const i = this.waiting.indexOf(take);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(
          signal?.reason instanceof Error ? signal.reason : new Error('cancelled while waiting for a kernel slot'),
        );
      };
      this.waiting.push(take);
      signal?.addEventListener('abort', abort, { once: true });
    });
  }
}
