/** What workflow histories say about activities: when each attempt ran and on which worker. */
import type { Client } from '@temporalio/client';
import { waitFor } from './fixtures.js';

export interface Span {
  workflowId: string;
  type: string;
  /** The worker identity that ran the attempt (NBLC_WORKER_NAME). */
  worker: string;
  start: number;
  end: number;
  input?: unknown;
}

const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);

/** The completed activity attempts of every run of the workflows matching `query` (a visibility query). */
export async function activitySpans(client: Client, query: string, expectRuns = 1): Promise<Span[]> {
  // Visibility is eventually consistent: wait until every run is listed and closed.
  const runs = await waitFor(`${expectRuns} closed run(s) for ${query}`, async () => {
    const found: Array<{ workflowId: string; runId: string }> = [];
    for await (const w of client.workflow.list({ query })) {
      if (w.status.name === 'RUNNING') return null;
      found.push({ workflowId: w.workflowId, runId: w.runId });
    }
    return found.length >= expectRuns ? found : null;
  });
  const spans: Span[] = [];
  for (const { workflowId, runId } of runs) {
    const events = (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
    const scheduled = new Map<string, { type: string; input?: unknown }>();
    const started = new Map<string, { worker: string; start: number }>();
    for (const e of events) {
      const id = String(e.eventId);
      if (e.activityTaskScheduledEventAttributes)
        scheduled.set(id, { type: e.activityTaskScheduledEventAttributes.activityType?.name ?? '?' });
      const s = e.activityTaskStartedEventAttributes;
      if (s) started.set(id, { worker: s.identity ?? '?', start: ms(e.eventTime) });
      const c = e.activityTaskCompletedEventAttributes;
      if (c) {
        const st = started.get(String(c.startedEventId))!;
        spans.push({ workflowId, ...scheduled.get(String(c.scheduledEventId))!, ...st, end: ms(e.eventTime) });
      }
    }
  }
  return spans;
}

export const overlap = (a: Span, b: Span) => a.start < b.end && b.start < a.end;
