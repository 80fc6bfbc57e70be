/**
 * The sync stage's model: beacons, delivery records, the sync workflow's status and results.
 * Pure: imported by workflows, activities, the API and the CLI, so nothing here may touch Node
 * built-ins.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Search attributes of sync workflows (all of nblc's: src/domain/search-attributes.ts). */
export const SYNC_SA = {
  repo: defineSearchAttributeKey('NblcRepo', SearchAttributeType.KEYWORD),
  publishedCommit: defineSearchAttributeKey('NblcPublishedCommit', SearchAttributeType.KEYWORD),
} as const;

/** Typed failures of the sync activities; operators see them in lastError (`[CommitNotFound]`). */
export const SYNC_FAILURES = {
  gitAuth: 'GitAuthFailed',
  repositoryNotFound: 'GitRepositoryNotFound',
  branchNotFound: 'GitBranchNotFound',
  git: 'GitError', // retryable: the network, a busy server
  commitNotFound: 'CommitNotFound',
  commitNotOnBranch: 'CommitNotOnBranch',
} as const;
/** publishSnapshot's: retrying cannot put a commit on the branch. */
export const NON_RETRYABLE_PUBLISH_FAILURES: string[] = [SYNC_FAILURES.commitNotFound, SYNC_FAILURES.commitNotOnBranch];

/** One long-lived sync workflow per repository; beacons are signalled into it. */
export const syncWorkflowId = (repoFullName: string) => `repo-sync:${repoFullName}`;

/** A request to sync: a verified GitHub push, or an operator's "pull now". */
export interface Beacon {
  /** X-GitHub-Delivery, or `manual-…` for operator requests. Dedupe key. */
  deliveryId: string;
  /** The pushed commit; null means "whatever the branch tip is when we fetch". */
  sha: string | null;
  before: string | null;
  pusher: string;
  source: 'github' | 'operator';
  receivedAt: string;
}

export type DeliveryOutcome =
  | 'pending'
  | 'running'
  | 'synced' // its commit (or a newer one in the same batch) is now published
  | 'superseded' // a newer commit of the same burst was published instead
  | 'stale' // its commit is older than or equal to what was already published
  | 'failed';

export interface DeliveryRecord extends Beacon {
  outcome: DeliveryOutcome;
  /** The commit that was published when this delivery finished. */
  publishedSha?: string;
  error?: string;
  finishedAt?: string;
  /** How many times GitHub (or someone) sent this delivery again after the first. */
  duplicates: number;
}

export interface PublishedInfo {
  sha: string;
  at: string;
  path: string;
  deliveryId: string;
}

export interface SyncError {
  message: string;
  at: string;
  deliveryIds: string[];
}

/** What the `status` query returns. */
export interface SyncStatus {
  repo: string;
  branch: string;
  published: PublishedInfo | null;
  /** The commits waiting for the next pull (null = branch tip). */
  pending: Array<{ sha: string | null; deliveryId: string }>;
  running: { deliveryIds: string[]; startedAt: string; step: string } | null;
  lastError: SyncError | null;
  /** Newest first. */
  recentDeliveries: DeliveryRecord[];
}

/** State carried across continue-as-new. */
export interface SyncCarry {
  published: PublishedInfo | null;
  deliveries: DeliveryRecord[];
  lastError: SyncError | null;
  /** The current failing episode of the sync, for its alerts (sync-alerts.ts). */
  failing?: SyncFailing;
}

/** Since when the sync fails (its first failed pass), and whether people were told. */
export interface SyncFailing {
  since: string;
  alerted: boolean;
}

export interface SyncInput {
  repo: string;
  branch: string;
  /** End the run after this long with nothing to do; the next beacon starts a new one. */
  idleTimeout: string;
  /** Continue-as-new once the history has this many events (the server may suggest earlier). */
  maxHistoryEvents?: number;
  /** Alert when the sync has failed this long (NBLC_ALERT_SYNC_AFTER), and when it recovers. */
  alertSyncAfterMs?: number;
  carry?: SyncCarry;
}

export interface SyncResult {
  reason: 'idle';
  published: PublishedInfo | null;
}

export interface SyncPlan {
  tip: string;
  /** The commit to publish, or null when nothing newer than the published one was asked for. */
  target: string | null;
  /** Keyed by candidate as given. */
  outcomes: Record<
    string,
    { outcome: 'publish' | 'superseded' | 'stale' | 'unreachable'; sha?: string; reason?: string }
  >;
}

export interface PublishResult {
  sha: string;
  path: string;
  /** Files written; -1 when the snapshot already existed. */
  files: number;
  reused: boolean;
  pruned: string[];
}
