/**
 * Domain of the users' copies of the notebook suite: names, requests, reports. Pure: imported by
 * workflows, activities, the API and the CLI, so nothing here may touch Node built-ins.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const COPY_SA = {
  /** The user of a user-copy workflow (`NblcUser = "ada"` finds their runs). */
  user: defineSearchAttributeKey('NblcUser', SearchAttributeType.KEYWORD),
} as const;

export const COPY_MODES = ['provision', 'latest', 'update'] as const;
export type CopyMode = (typeof COPY_MODES)[number];
export const BULK_MODES = ['provision', 'update'] as const;
export type BulkMode = (typeof BULK_MODES)[number];

/** The copy every account gets, never modified by `provision` once it exists. */
export const MAIN_COPY = 'notebooks';
/** The link to the read-only cache in every user's directory. */
export const LATEST_LINK = 'notebooks-latest';
/** Inside each copy: the commit it came from and the hash of every file as delivered. */
export const COPY_MANIFEST = '.nblc-manifest.json';

/**
 * One path component, no leading dot or dash: `..`, `/`, NUL, hidden names, option-like names and
 * the empty string cannot pass, so a user name can never address anything but its own directory.
 */
const USER_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;
const DIR_RE = /^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}$/;

/** Why `user` is not an acceptable user name, or null when it is. */
export function userNameProblem(user: string): string | null {
  if (USER_RE.test(user)) return null;
  return `invalid user name ${JSON.stringify(user.slice(0, 80))}: 1-64 characters from A-Z a-z 0-9 _ . -, not starting with . or -`;
}

/** Why `dir` is not an acceptable copy name (a directory directly in the user's directory), or null. */
export function copyDirProblem(dir: string): string | null {
  if (dir === LATEST_LINK) return `${LATEST_LINK} is the link to the cache, not a copy`;
  if (DIR_RE.test(dir)) return null;
  return `invalid directory name ${JSON.stringify(dir.slice(0, 80))}: one name (no /), 1-128 characters from A-Z a-z 0-9 _ . + -, not starting with . or -`;
}

/**
 * Why a copy request for `user` is not acceptable (user name, mode, directory), or null. The one
 * check of a request, shared by the client (`nblc copy`, the demo), the API and the workflow's
 * update validator, so they cannot disagree; `mode` is a string because requests arrive as JSON.
 */
export function copyRequestProblem(user: string, req: { mode: string; dir?: string }): string | null {
  const badUser = userNameProblem(user);
  if (badUser) return badUser;
  if (!(COPY_MODES as readonly string[]).includes(req.mode)) return `unknown mode ${String(req.mode)}`;
  if (req.dir === undefined) return null;
  if (req.mode === 'provision') return 'provision takes no directory (it is always notebooks)';
  return copyDirProblem(req.dir);
}

/** One workflow per user: concurrent requests for a user queue up in it. */
export const userCopyWorkflowId = (user: string) => `user-copy:${user}`;
export const bulkCopyWorkflowId = (mode: BulkMode) => `user-copy-bulk:${mode}`;

export interface CopyRequest {
  mode: CopyMode;
  /** latest: the name of the new copy (default notebooks_YYYYMMDD_HHMMSS); update: the copy (default notebooks). */
  dir?: string;
  /** Idempotency key: a retried or replayed request finds its own earlier result. */
  requestId: string;
  /** When the request was made; names a `latest` copy, so a retry picks the same name. */
  requestedAt: string;
}

export type FileOutcome =
  | 'added' // new upstream file, written
  | 'updated' // the user had not changed it: the new upstream version was written
  | 'unchanged' // already equal to upstream
  | 'restored' // the user had deleted it: written again
  | 'kept' // the user changed it, upstream did not: left alone
  | 'conflict' // both changed it: the user's file is kept, upstream's is written beside it
  | 'removed' // removed upstream, and the user had not changed it (or had deleted it)
  | 'kept-removed-upstream' // removed upstream, but the user changed it: kept, no longer managed
  | 'obstructed' // the user put a file where a folder on the way should be: nothing written
  | 'skipped'; // not written, see `reason` (a symlink leaving the snapshot, a change during the update)

export interface FileReport {
  path: string;
  outcome: FileOutcome;
  /** conflict: where the upstream version was written (relative to the copy). */
  upstreamCopy?: string;
  reason?: string;
}

export interface CopyResult {
  user: string;
  mode: CopyMode;
  /** The copy's name in the user's directory, and its absolute path as the worker sees it. */
  name: string;
  path: string;
  /** provision / latest: whether this request created the copy (false: it existed already). */
  created: boolean;
  /** The commit the copy now corresponds to (null: an existing copy without a manifest). */
  commit: string | null;
  /** The commit the copy came from, before an update (null: no manifest, or a new copy). */
  previousCommit: string | null;
  files: FileReport[];
  counts: Partial<Record<FileOutcome, number>>;
  /** provision: what happened to the notebooks-latest link. */
  link?: { path: string; target: string; outcome: 'created' | 'updated' | 'unchanged' | 'kept-user-entry' };
  message: string;
}

/** A CopyResult without the per-file list, for histories that hold many of them (the bulk parent). */
export type CopySummary = Omit<CopyResult, 'files'> & { conflicts: string[] };

export const MAX_SUMMARY_CONFLICTS = 20;

export function summarize(result: CopyResult): CopySummary {
  const { files, ...rest } = result;
  const conflicts = files.filter((f) => f.outcome === 'conflict').map((f) => f.path);
  return { ...rest, conflicts: conflicts.slice(0, MAX_SUMMARY_CONFLICTS) };
}

export function countOutcomes(files: FileReport[]): Partial<Record<FileOutcome, number>> {
  const counts: Partial<Record<FileOutcome, number>> = {};
  for (const f of files) counts[f.outcome] = (counts[f.outcome] ?? 0) + 1;
  return counts;
}

/** Typed failures of the copy activities: the API maps them to statuses, the workflow does not retry them. */
export const COPY_FAILURES = {
  invalid: 'InvalidCopyRequest', // bad user or directory name
  unsafe: 'UnsafePath', // a symlink where a real directory must be
  userDirMissing: 'UserDirMissing',
  notFound: 'CopyNotFound',
  exists: 'CopyExists',
  nothingPublished: 'NothingPublished',
  crossDevice: 'CrossDevice',
  permission: 'PermissionDenied',
} as const;
export const NON_RETRYABLE_COPY_FAILURES: string[] = Object.values(COPY_FAILURES);
/** The per-user workflow is finishing (its history is long): the client retries, a new run takes it. */
export const DRAINING = 'UserCopyDraining';

/**
 * Copy requests a user may have waiting behind the one running (NBLC_COPY_MAX_QUEUED's default).
 * Each `latest` copies the whole suite, so without a cap one user (or one leaked user token) could
 * queue copies without end; beyond it a request is refused at once (QUEUE_FULL, the API's 429).
 * At most MAX_QUEUED_COPIES_LIMIT: Temporal keeps at most 10 updates of a workflow in flight by
 * default (history.maxInFlightUpdates), and the running request and the waiting ones all are.
 */
export const DEFAULT_MAX_QUEUED_COPIES = 3;
export const MAX_QUEUED_COPIES_LIMIT = 8;
/** The user has DEFAULT_MAX_QUEUED_COPIES (or the configured number) of requests waiting already. */
export const QUEUE_FULL = 'UserCopyQueueFull';

/** Input of the per-user workflow: its user, and the request it was started for (bulk children). */
export interface UserCopyInput {
  user: string;
  initial?: CopyRequest;
  /** Stop taking requests once the history has this many events (the next request starts a new run). */
  maxHistoryEvents?: number;
  /** Requests that may wait behind the running one (default DEFAULT_MAX_QUEUED_COPIES). */
  maxQueued?: number;
}

export interface UserCopyRunResult {
  user: string;
  handled: number;
  /** The result of `initial`, summarized. */
  initial: CopySummary | null;
}

export interface UserCopyStatus {
  user: string;
  running: { requestId: string; mode: CopyMode; dir?: string; startedAt: string } | null;
  queued: Array<{ requestId: string; mode: CopyMode; dir?: string }>;
  handled: number;
  draining: boolean;
}

export interface BulkFailure {
  user: string;
  error: string;
}

export interface BulkCarry {
  /** The last user of the pages done (users are listed in name order). */
  cursor: string | null;
  processed: number;
  succeeded: number;
  failed: number;
  /** update: users without that copy (never provisioned), left alone. */
  skipped: number;
  /** provision: copies created; update: copies with at least one conflict. */
  created: number;
  withConflicts: number;
  failures: BulkFailure[];
  failuresDropped: number;
  startedAt: string;
}

export interface BulkInput {
  mode: BulkMode;
  /** update: the copy to update in every user's directory (default notebooks). */
  dir?: string;
  concurrency: number;
  /** Passed on to each user's workflow it starts (NBLC_COPY_MAX_QUEUED; default DEFAULT_MAX_QUEUED_COPIES). */
  maxQueued?: number;
  /** Users listed (and run) per page; the run continues-as-new between pages. */
  pageSize?: number;
  /** Continue-as-new after this many pages in one run. */
  pagesPerRun?: number;
  carry?: BulkCarry;
}

export interface BulkProgress extends BulkCarry {
  mode: BulkMode;
  dir?: string;
  inFlight: string[];
  done: boolean;
}

export type BulkSummary = Omit<BulkProgress, 'inFlight' | 'done' | 'cursor'> & { finishedAt: string };

export const MAX_BULK_FAILURES = 100;
