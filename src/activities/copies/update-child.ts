/**
 * Entry point of the process that runs one update job as the copy's owner (as-owner.ts).
 *
 * One JSON object per line. Stdin: the job, then `{"resume":true}` after each checkpoint this
 * process reported (tests only), and `{"bases":{…}}` after each request for delivered versions
 * of notebooks. Stdout: progress, checkpoints, those requests, and last the result or the error.
 * Stdin closing before the answer means the worker is gone: stop at once, as a crash would (a
 * rerun converges), rather than race the retry of this very request.
 */
import { createInterface } from 'node:readline';
import { runUpdateJob, type UpdateJob } from './update-job.js';

const PROGRESS_EVERY_MS = 250;

const send = (m: object) =>
  new Promise<void>((resolve) => process.stdout.write(`${JSON.stringify(m)}\n`, () => resolve()));

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
let answered = false;
process.stdin.on('end', () => {
  if (!answered) process.exit(2);
});

const next = async (): Promise<string> => {
  const { value, done } = await lines.next();
  if (done) process.exit(2);
  return value as string;
};

try {
  const job = JSON.parse(await next()) as UpdateJob & { checkpoints: boolean };
  let last = 0;
  const result = await runUpdateJob(job, null, {
    onProgress: (p) => {
      if (Date.now() - last < PROGRESS_EVERY_MS) return;
      last = Date.now();
      void send({ t: 'progress', p });
    },
    // The worker reads them from its private clone, and answers on stdin (as-owner.ts).
    baseFiles: async (commit, files) => {
      await send({ t: 'bases', commit, files });
      const answer = JSON.parse(await next()) as { bases?: Record<string, string> };
      return new Map(Object.entries(answer.bases ?? {}).map(([p, b64]) => [p, Buffer.from(b64, 'base64')]));
    },
    checkpoint: job.checkpoints
      ? async (step) => {
          await send({ t: 'checkpoint', step });
          await next();
        }
      : undefined,
  });
  answered = true;
  await send({ t: 'result', r: result });
  process.exit(0);
} catch (err) {
  answered = true;
  const e = err as NodeJS.ErrnoException & { type?: string };
  await send({
    t: 'error',
    message: e.message ?? String(err),
    ...(typeof e.type === 'string' ? { type: e.type } : {}),
    ...(e.code ? { code: e.code, syscall: e.syscall, path: e.path } : {}),
  });
  process.exit(1);
}
