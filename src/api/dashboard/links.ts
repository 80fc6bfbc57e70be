/**
 * Where the dashboard links to: notebook pages, a run's report and executed notebooks (under a
 * signed path, src/platform/runs/report-links.ts, so they open whatever cookies the browser sends: report
 * files may be served as sandboxed documents, whose navigations carry no SameSite=Strict cookie),
 * and the Temporal UI.
 */
import { reportLink } from '../../platform/runs/report-links.js';
import { workflowIdOfRun } from '../../domain/runs/model.js';
import type { Secret } from '../../platform/secret.js';
import { temporalUiLink } from '../../domain/ui-links.js';

const segments = (p: string) => p.split('/').map(encodeURIComponent).join('/');

export const notebookHref = (p: string) => `/ui/notebooks/${segments(p)}`;

export interface Links {
  report(runId: string): string;
  /** The executed notebook's file (a download). */
  executed(runId: string, notebook: string): string;
  /** The executed notebook as a dashboard page (executed.ts). */
  view(runId: string, notebook: string): string;
  temporal(runId: string): string | null;
}

export function makeLinks(token: Secret, temporal: { uiUrl: string; namespace: string }, nowMs: number): Links {
  // One grant per run and page: an HMAC each, the same for every notebook of that run.
  const grants = new Map<string, string>();
  const base = (runId: string) => {
    let b = grants.get(runId);
    if (!b) grants.set(runId, (b = reportLink(token, runId, nowMs).replace(/report\.html$/, '')));
    return b;
  };
  const ui = /^https?:\/\//i.test(temporal.uiUrl);
  return {
    report: (runId) => `${base(runId)}report.html`,
    executed: (runId, notebook) => `${base(runId)}executed/${segments(notebook)}`,
    view: (runId, notebook) => `/ui/runs/${encodeURIComponent(runId)}/executed/${segments(notebook)}`,
    temporal: (runId) => (ui ? temporalUiLink(temporal.uiUrl, temporal.namespace, workflowIdOfRun(runId)) : null),
  };
}
