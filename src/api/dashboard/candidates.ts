/**
 * The overview's cards of the latest candidate run per kernel (issue 19), beside the scheduled
 * run's card: what the next kernel would break (newly failing) and fix, against which baseline.
 */
import type { CandidateSummary } from '../../storage/runs/candidate-runs.js';
import { h, plural, when, type Html } from './layout.js';
import type { Links } from './links.js';

export function candidateCards(candidates: readonly CandidateSummary[], links: Links, nowMs: number): Html[] {
  return candidates.map(
    (c) => h`<div class="card candidate${c.newlyFailing ? ' bad' : ''}"><h3>candidate <code>${c.kernel}</code></h3>
<div class="verdict">${c.newlyFailing ? `✗ ${plural(c.newlyFailing, 'notebook')} newly failing` : '✓ nothing newly failing'}${c.fixed ? `, ${c.fixed} fixed` : ''} of ${c.total}</div>
<div class="muted">finished ${when(c.finishedAt, nowMs)} · against <code>${c.baseline}</code></div>
<div><a href="${links.report(c.runId)}">report</a></div></div>`,
  );
}
