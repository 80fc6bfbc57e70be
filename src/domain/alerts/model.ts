/**
 * What is worth telling people after a run: state changes, never the run itself. A notebook that
 * newly fails or got fixed (judged against its own history, across run kinds), a kind of run
 * that cannot run any more (or again), the sync failing for long and recovering. Pure: the
 * alert activities (src/activities/alerts/) feed it from the history database and send what it
 * returns; the same inputs give the same alerts, so a retried activity decides the same.
 */
import type { NotebookStatus, RunKind } from '../runs/status.js';

/** Typed failures of the alert and commit-status activities. */
export const NOTIFY_FAILURES = {
  channelFailed: 'AlertChannelFailed', // retryable: the channel is down or slow
  channelRejected: 'AlertChannelRejected', // it refused the message (4xx): retrying cannot help
  channelUnknown: 'AlertChannelUnknown', // no longer configured
  githubRejected: 'GitHubRejected', // 401/403/404/422: the token, its permission, the repository or the commit
  githubUnavailable: 'GitHubUnavailable', // retryable
} as const;
export const NON_RETRYABLE_NOTIFY_FAILURES: string[] = [
  NOTIFY_FAILURES.channelRejected,
  NOTIFY_FAILURES.channelUnknown,
  NOTIFY_FAILURES.githubRejected,
];

/** What became of one alert on one channel, as the run's result and report show it. */
export interface AlertOutcome {
  channel: string;
  alert: AlertId | 'plan';
  ok: boolean;
  /** The channel had it already (a retried or repeated run). */
  skipped?: boolean;
  error?: string;
}

/** One result of a notebook in a run before this one. */
export interface PastResult {
  status: NotebookStatus;
  /** It passed only on a retry. */
  flaky: boolean;
}

export interface AlertPolicy {
  /** Notebooks flaky in their history alert only after `flakyAfter` failed runs in a row. */
  quietFlaky: boolean;
  flakyAfter: number;
}

export interface RunRef {
  runId: string;
  kind: RunKind;
  commit: string;
}

/** Notebooks sharing a heading (a cause), the first few listed, the rest counted. */
export interface AlertGroup {
  heading: string;
  notebooks: string[];
  more: number;
}

export type AlertId = 'newly-failing' | 'fixed' | 'run-error' | 'run-recovered' | 'sync-failing' | 'sync-recovered';

/** Serializable (it passes through workflow histories): no links, no credentials. */
export interface Alert {
  /** Unique per run: with the run ID, the idempotency key of its deliveries. */
  id: AlertId;
  title: string;
  run?: RunRef;
  groups: AlertGroup[];
  note?: string;
}

export interface RunNotebook {
  path: string;
  status: NotebookStatus;
  /** causeText of its first unexpected error (causes.ts), null when it passed. */
  cause: string | null;
}

/** Notebooks listed per group, and groups per alert; the rest are counted ("and 12 more"). */
export const MAX_LISTED = 10;
export const MAX_GROUPS = 5;
/** Results before this run that flakiness is judged on (as GET /notebooks does). */
export const FLAKY_WINDOW = 20;

/** The history (newest first) went back and forth, or a pass needed a retry. */
export function isFlaky(past: readonly PastResult[]): boolean {
  const window = past.slice(0, FLAKY_WINDOW);
  let changes = 0;
  for (let i = 1; i < window.length; i++) {
    if ((window[i]!.status === 'passed') !== (window[i - 1]!.status === 'passed')) changes++;
  }
  return changes >= 2 || window.some((r) => r.flaky);
}

/** How many of the newest results did not pass. */
function failingStreak(past: readonly PastResult[]): number {
  const i = past.findIndex((r) => r.status === 'passed');
  return i < 0 ? past.length : i;
}

/**
 * Whether a failing streak of `length` runs (this one included) is the moment to alert: its
 * first run, or for a notebook that was flaky before the streak (and quietFlaky) the
 * `flakyAfter`-th. `before` is the history before the streak began.
 */
function alertsAt(length: number, before: readonly PastResult[], policy: AlertPolicy): boolean {
  return policy.quietFlaky && isFlaky(before) ? length === policy.flakyAfter : length === 1;
}

/**
 * The notebooks of this run that newly fail, and those fixed, judged on `past` (each path's
 * results before this run, newest first; absent: never run before). A fix is told only when
 * its failure was.
 */
export function notebookChanges(
  notebooks: readonly RunNotebook[],
  past: ReadonlyMap<string, readonly PastResult[]>,
  policy: AlertPolicy,
): { newlyFailing: RunNotebook[]; fixed: RunNotebook[] } {
  const newlyFailing: RunNotebook[] = [];
  const fixed: RunNotebook[] = [];
  for (const nb of notebooks) {
    const history = past.get(nb.path) ?? [];
    const streak = failingStreak(history);
    if (nb.status !== 'passed') {
      if (alertsAt(streak + 1, history.slice(streak), policy)) newlyFailing.push(nb);
    } else if (streak > 0) {
      const before = history.slice(streak);
      const told = !(policy.quietFlaky && isFlaky(before)) || streak >= policy.flakyAfter;
      if (told) fixed.push(nb);
    }
  }
  return { newlyFailing, fixed };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const runLabel = (run: RunRef) => `${run.kind} run ${run.runId} of ${run.commit.slice(0, 12)}`;

/** Groups by heading, largest first (ties in run order), capped. */
export function groupNotebooks(items: ReadonlyArray<{ path: string; heading: string }>): AlertGroup[] {
  const byHeading = new Map<string, string[]>();
  for (const { path, heading } of items) {
    const list = byHeading.get(heading);
    if (list) list.push(path);
    else byHeading.set(heading, [path]);
  }
  const groups = [...byHeading].sort((a, b) => b[1].length - a[1].length);
  const shown = groups.slice(0, MAX_GROUPS).map(([heading, paths]) => ({
    heading,
    notebooks: paths.slice(0, MAX_LISTED),
    more: Math.max(0, paths.length - MAX_LISTED),
  }));
  const hidden = groups.slice(MAX_GROUPS).flatMap(([, paths]) => paths);
  if (hidden.length) shown.push({ heading: 'other causes', notebooks: [], more: hidden.length });
  return shown;
}

/** The alerts of a finished run's notebooks: at most one "newly failing" and one "fixed". */
export function runAlerts(
  run: RunRef,
  notebooks: readonly RunNotebook[],
  past: ReadonlyMap<string, readonly PastResult[]>,
  policy: AlertPolicy,
): Alert[] {
  const { newlyFailing, fixed } = notebookChanges(notebooks, past, policy);
  const alerts: Alert[] = [];
  if (newlyFailing.length) {
    const groups = groupNotebooks(newlyFailing.map((nb) => ({ path: nb.path, heading: nb.cause ?? nb.status })));
    const what =
      groups.length === 1
        ? `${plural(newlyFailing.length, 'notebook')} newly failing: ${groups[0]!.heading}`
        : `${plural(newlyFailing.length, 'notebook')} newly failing (${plural(groups.length, 'cause')})`;
    alerts.push({ id: 'newly-failing', title: `${what} in the ${runLabel(run)}`, run, groups });
  }
  if (fixed.length) {
    alerts.push({
      id: 'fixed',
      title: `${plural(fixed.length, 'notebook')} fixed in the ${runLabel(run)}`,
      run,
      groups: groupNotebooks(fixed.map((nb) => ({ path: nb.path, heading: 'passing again' }))),
    });
  }
  return alerts;
}

/** A run-level state (`run:<kind>`, `sync`) as the alert store keeps it. */
export interface StateRecord {
  state: 'ok' | 'broken';
  previous: 'ok' | 'broken' | null;
  /** The run (or sync episode) that set it: its retries find their own change. */
  changedBy: string;
}

/**
 * A run-level state change: the new record to store, and whether it is a change. A record that
 * `by` itself wrote counts as not yet written, so a retry decides as the first attempt did.
 */
export function stateChange(
  stored: StateRecord | null,
  by: string,
  now: 'ok' | 'broken',
): { record: StateRecord; changed: boolean } {
  const before = stored ? (stored.changedBy === by ? stored.previous : stored.state) : null;
  const changed = now === 'broken' ? before !== 'broken' : before === 'broken';
  if (!changed) return { record: stored ?? { state: now, previous: null, changedBy: by }, changed };
  return { record: { state: now, previous: before, changedBy: by }, changed };
}

/** A run that could not run (the snapshot, the report, the infrastructure), or runs again. */
export function runStateAlert(run: RunRef, broken: boolean, error?: string): Alert {
  return broken
    ? {
        id: 'run-error',
        title: `The ${runLabel(run)} could not run`,
        run,
        groups: [],
        note: error ?? 'unknown error',
      }
    : { id: 'run-recovered', title: `${run.kind} runs work again: the ${runLabel(run)} ran`, run, groups: [] };
}

/** The sync has been failing since `since` (for longer than NBLC_ALERT_SYNC_AFTER), or recovered. */
export function syncAlert(repo: string, failing: boolean, since: string, error?: string): Alert {
  return failing
    ? { id: 'sync-failing', title: `The sync of ${repo} has been failing since ${since}`, groups: [], note: error }
    : {
        id: 'sync-recovered',
        title: `The sync of ${repo} works again (it had been failing since ${since})`,
        groups: [],
      };
}

/** A message in the forms the channels send: plain text (e-mail), Markdown (chat) and Slack blocks. */
export interface AlertMessage {
  subject: string;
  text: string;
  /** `text` for a chat that renders Markdown (Mattermost, Slack's fallback): see chatMarkdown. */
  markdown: string;
  blocks: unknown[];
}

/**
 * Notebook paths, error names and values in an alert are written by notebook authors: in a chat
 * they must not mention everyone (`@channel`, `@here`, `<!here>`), link or format. A zero-width
 * space after `@` breaks mentions; `&`, `<`, `>` are escaped as chats want.
 */
const breakMentions = (s: string) => s.replace(/@(?=\w)/g, '@\u200b');
const mrkdwn = (s: string) => breakMentions(s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));
/** Markdown (CommonMark backslash escapes) on top of that, for chats that render it. */
export const chatMarkdown = (s: string) => mrkdwn(s).replace(/([\\`*_~[\]()#|!])/g, '\\$1');

/** `reportUrl`: the absolute, signed link to the run's report, when one can be made. */
export function renderAlert(alert: Alert, reportUrl?: string): AlertMessage {
  const render = (esc: (s: string) => string) => {
    const lines: string[] = [];
    for (const g of alert.groups) {
      lines.push(`${esc(g.heading)}${g.notebooks.length || g.more ? ` (${g.notebooks.length + g.more})` : ''}:`);
      for (const p of g.notebooks) lines.push(`  • ${esc(p)}`);
      if (g.more) lines.push(`  … and ${g.more} more`);
    }
    if (alert.note) lines.push(esc(alert.note));
    if (alert.run) lines.push(`Run ${esc(alert.run.runId)} (${alert.run.kind}), commit ${esc(alert.run.commit)}`);
    return lines;
  };
  const plain = render((s) => s);
  const chat = render(mrkdwn);
  const link = reportUrl ? [`Report: ${reportUrl}`] : [];
  const text = [alert.title, ...plain, ...link].join('\n');
  const markdown = [chatMarkdown(alert.title), ...render(chatMarkdown), ...link].join('\n');
  const blocks: unknown[] = [
    { type: 'section', text: { type: 'mrkdwn', text: `*${mrkdwn(alert.title)}*` } },
    ...(chat.length || link.length
      ? [{ type: 'section', text: { type: 'mrkdwn', text: [...chat, ...link].join('\n').slice(0, 2900) } }]
      : []),
  ];
  if (reportUrl) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `<${reportUrl}|Open the report>` }] });
  }
  return { subject: `[nblc] ${alert.title}`, text, markdown, blocks };
}
