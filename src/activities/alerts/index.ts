/**
 * The alert and commit-status activities of a test run. `planRunAlerts` decides (from the run's
 * report.json and the history database, with src/domain/alerts/model.ts); the workflow then runs one
 * `deliverAlert` per alert and channel, each retried on its own, so a channel that is down holds
 * up neither the others nor, beyond its retries, the run. Deliveries are recorded per
 * `<runId>:<alert>` and channel (alert-store.ts): a retry, a replay or a run started again under
 * the same ID sends nothing twice. Links and credentials are made here, never in the workflow.
 */
import { ApplicationFailure, type Logger } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../platform/config.js';
import { alertStore, type AlertStore } from '../../storage/alerts/alert-store.js';
import {
  FLAKY_WINDOW,
  NOTIFY_FAILURES,
  renderAlert,
  runAlerts,
  runStateAlert,
  stateChange,
  syncAlert,
  type Alert,
  type AlertOutcome,
  type RunNotebook,
} from '../../domain/alerts/model.js';
import { causeOf, causeText } from '../../domain/runs/causes.js';
import type { NotebookStatus, RunKind } from '../../domain/runs/model.js';
import { reportLink } from '../../platform/runs/report-links.js';
import { writeFileAtomic } from '../files.js';
import { REPORT_FILES } from '../../domain/runs/run-dir.js';
import { alertChannels, type Channel } from './channels.js';
import { describeCounts, setCommitStatus, type CommitState } from './github.js';
import { checkCommit, checkRunId, untrusted } from '../untrusted.js';
import { ranCounts } from './ran.js';
import { setCandidateStatus } from './candidate-status.js';
import { readTextCapped } from '../../platform/capped-read.js';
import { REPORT_LIMITS } from '../runs/report/limits.js';

/** Links in alerts and statuses are read later than an operator's: they stay valid two weeks. */
export const ALERT_LINK_TTL_S = 14 * 24 * 3600;

export type AlertActivitiesConfig = Pick<
  Config,
  'alerts' | 'github' | 'repo' | 'resultsDir' | 'dataDir' | 'databaseUrl' | 'http' | 'linkSecret'
>;

export interface PlanRunAlertsInput {
  runId: string;
  kind: RunKind;
  commit?: string;
  /** The run could not run: why (an operator-readable failure). */
  error?: string;
}

export function createAlertActivities(
  cfg: AlertActivitiesConfig,
  store: () => Promise<AlertStore> = () => alertStore(cfg),
  channels: () => Channel[] = () => alertChannels(cfg),
) {
  const link = (runId: string) =>
    cfg.http.publicUrl && cfg.linkSecret
      ? `${cfg.http.publicUrl}${reportLink(cfg.linkSecret, runId, Date.now(), ALERT_LINK_TTL_S)}`
      : undefined;
  // A status is public on a public repository's pull requests: a link valid hours, or the
  // dashboard's (login), never the alerts' two weeks.
  const statusLink = (runId: string) => {
    if (!cfg.http.publicUrl) return undefined;
    const ttl = cfg.alerts.statusLinkTtlS;
    if (ttl <= 0) return `${cfg.http.publicUrl}/runs/${encodeURIComponent(runId)}/report.html`;
    return cfg.linkSecret ? `${cfg.http.publicUrl}${reportLink(cfg.linkSecret, runId, Date.now(), ttl)}` : undefined;
  };

  return {
    /** A candidate run's `nblc/candidate` status (NBLC_CANDIDATE_STATUS); false when off. */
    setCandidateStatus: (input: { runId: string; allowNewFailures?: number }) =>
      setCandidateStatus(cfg, input, statusLink),

    /** The run's alerts and the channels to send them to (none configured: nothing to decide). */
    async planRunAlerts(input: PlanRunAlertsInput): Promise<{ alerts: Alert[]; channels: string[] }> {
      checkRunId(input.runId);
      if (input.commit !== undefined) checkCommit(input.commit);
      const ids = channels().map((c) => c.id);
      // Pull-request runs test code that is not merged: their news is the commit status.
      if (ids.length === 0 || input.kind === 'pr') return { alerts: [], channels: [] };
      const db = await store();
      const run = { runId: input.runId, kind: input.kind, commit: input.commit ?? '(none)' };
      // Whether a kind of run can run at all; a manual run that cannot (a wrong commit, say) is
      // the operator's to see, not everyone's.
      let change: { changed: boolean } = { changed: false };
      if (input.kind !== 'manual') {
        const subject = `run:${input.kind}`;
        const decided = stateChange(await db.state(subject), input.runId, input.error ? 'broken' : 'ok');
        await db.setState(subject, decided.record);
        change = decided;
      }
      if (input.error) return { alerts: change.changed ? [runStateAlert(run, true, input.error)] : [], channels: ids };

      const report = await readReport(cfg.resultsDir, input.runId);
      run.commit = report.commit;
      const past = await db.pastResults(
        report.notebooks.map((n) => n.path),
        input.runId,
        report.finishedAt,
        FLAKY_WINDOW + cfg.alerts.flakyAfter,
      );
      const alerts = runAlerts(run, report.notebooks, past, cfg.alerts);
      if (change.changed) alerts.push(runStateAlert(run, false));
      return { alerts, channels: ids };
    },

    /** The sync has been failing since `since` (or works again): the alert and the channels. */
    async planSyncAlert(input: {
      repo: string;
      failing: boolean;
      since: string;
      error?: string;
    }): Promise<{ alerts: Alert[]; channels: string[] }> {
      const ids = channels().map((c) => c.id);
      if (ids.length === 0) return { alerts: [], channels: [] };
      return { alerts: [syncAlert(input.repo, input.failing, input.since, input.error)], channels: ids };
    },

    /** Sends one alert to one channel unless it has it already; a failure is retried by Temporal. */
    async deliverAlert(input: { runId: string; channel: string; alert: Alert }): Promise<{ skipped: boolean }> {
      checkRunId(input.runId); // a run ID or a sync episode (`sync-<digits>`), both run-directory names
      const channel = channels().find((c) => c.id === input.channel);
      if (!channel) {
        throw ApplicationFailure.nonRetryable(
          `channel ${input.channel} is no longer configured`,
          NOTIFY_FAILURES.channelUnknown,
        );
      }
      const key = `${input.runId}:${input.alert.id}`;
      const db = await store();
      if ((await db.claim(key, channel.id)) === 'sent') return { skipped: true };
      const hasReport = input.alert.id !== 'run-error' && !!input.alert.run;
      try {
        await channel.send(renderAlert(input.alert, hasReport ? link(input.runId) : undefined), key);
      } catch (err) {
        const message = (err as Error).message;
        await db.failed(key, channel.id, message).catch(() => undefined);
        log().warn('alert not delivered', { channel: channel.id, alert: key, error: message });
        const permanent = (err as { permanent?: boolean }).permanent === true;
        throw ApplicationFailure.create({
          message: `${channel.id}: ${message}`,
          type: permanent ? NOTIFY_FAILURES.channelRejected : NOTIFY_FAILURES.channelFailed,
          nonRetryable: permanent,
        });
      }
      await db.sent(key, channel.id);
      return { skipped: false };
    },

    /** Adds what became of the run's alerts to its report.json (`alerts`), for whoever reads it later. */
    async noteAlerts(input: { runId: string; alerts: AlertOutcome[] }): Promise<void> {
      const file = path.join(cfg.resultsDir, checkRunId(input.runId), REPORT_FILES.json);
      if (!Array.isArray(input.alerts) || input.alerts.length > 10_000) {
        throw untrusted('alerts', 'not a list of alert outcomes');
      }
      // Only an existing report is amended (rename replaces a link, never writes through one).
      if (!(await fs.lstat(file).catch(() => null))?.isFile())
        throw untrusted('runId', `run ${input.runId} has no report`);
      const report = JSON.parse(await readTextCapped(file, REPORT_LIMITS.reportFile)) as Record<string, unknown>;
      await writeFileAtomic(file, `${JSON.stringify({ ...report, alerts: input.alerts }, null, 2)}\n`);
    },

    /**
     * The commit status of a run: `pending` at its start, then from what ran, or `error` when it
     * could not run. Returns false when statuses are off (no NBLC_GITHUB_TOKEN). The commit must
     * be the run's own (its record, run-record.ts), and a final state is decided here from the
     * results the notebook workers wrote (ran.ts), whatever the input's state and counts say.
     */
    async setRunStatus(input: {
      runId: string;
      commit: string;
      state: CommitState;
      counts?: Record<string, number> & { total: number; passed: number };
      description?: string;
    }): Promise<boolean> {
      const runId = checkRunId(input.runId);
      const commit = checkCommit(input.commit);
      if (!['pending', 'success', 'failure', 'error'].includes(input.state)) {
        throw untrusted('state', `${JSON.stringify(input.state)} is not a commit state`);
      }
      const ran = await ranCounts(cfg.resultsDir, runId);
      if (ran.commit !== null && ran.commit !== commit) {
        throw untrusted('commit', `run ${runId} tests ${ran.commit}, not ${commit}`);
      }
      // Without a record only `error` (a run that could not start) may be told, on a full SHA.
      if (ran.commit === null && input.state !== 'error') {
        throw untrusted('runId', `run ${runId} has no record of its commit: nothing of it can be reported`);
      }
      let state = input.state;
      let description = (input.description ?? '').slice(0, 500);
      if (state === 'success' || state === 'failure') {
        if (ran.counts) {
          // A skipped notebook is declared not to run: it does not fail the commit.
          state = ran.counts.total === ran.counts.passed + (ran.counts.skipped ?? 0) ? 'success' : 'failure';
          description = ran.counts.total === 0 && ran.byChange ? 'no notebooks affected' : describeCounts(ran.counts);
        } else {
          state = 'error';
          description = 'nblc cannot tell which notebooks ran: start the run again';
        }
      }
      if (!description) description = state === 'pending' ? 'testing the notebooks…' : state;
      return setCommitStatus(cfg, {
        sha: commit,
        state,
        description,
        targetUrl: state === 'pending' ? undefined : statusLink(runId),
      });
    },
  };
}

export type AlertActivities = ReturnType<typeof createAlertActivities>;

function log(): Logger {
  try {
    return Context.current().log;
  } catch {
    return console as unknown as Logger; // outside an activity (the CLI's test message)
  }
}

/** What the decision needs of report.json: each notebook's status and cause. */
async function readReport(
  resultsDir: string,
  runId: string,
): Promise<{ commit: string; finishedAt: string; notebooks: RunNotebook[] }> {
  const raw = JSON.parse(
    await readTextCapped(path.join(resultsDir, runId, REPORT_FILES.json), REPORT_LIMITS.reportFile),
  ) as {
    commit: string;
    finishedAt: string;
    notebooks: Array<{
      path: string;
      status: NotebookStatus;
      error: { ename: string; evalue: string } | null;
      message: string | null;
    }>;
  };
  const notebooks = raw.notebooks.map((nb) => {
    const cause = causeOf({ status: nb.status, error: nb.error ?? null, message: nb.message ?? null });
    return { path: nb.path, status: nb.status, cause: cause ? causeText(cause) : null };
  });
  return { commit: raw.commit, finishedAt: raw.finishedAt, notebooks };
}
