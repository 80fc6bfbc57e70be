/**
 * What the alerts keep in nblc's database (database.ts, schema v2): the notebooks' results before
 * a run (read from the history's tables), run-level states, and each alert's delivery per
 * channel. A delivery is claimed before it is sent and marked sent after, so a retried activity
 * or a replayed run skips the channels that already have it; a claim that was never marked sent
 * (the worker died mid-send, the channel failed) is sent again by the next attempt.
 */
import type { PastResult, StateRecord } from '../../domain/alerts/model.js';
import type { NotebookStatus } from '../../domain/runs/model.js';
import type { Config } from '../../platform/config.js';
import { sharedDatabase, type Database, type SqlValue } from '../../platform/database.js';
import { flag, int, marks, textOrNull } from '../sql.js';

const CHUNK = 100;

export interface AlertDeliveryRecord {
  state: 'claimed' | 'sent';
  attempts: number;
  error: string | null;
}

export interface AlertStore {
  /** Each path's results in runs that finished before `finishedAt` (not `runId`, no PR runs), newest first. */
  pastResults(
    paths: readonly string[],
    runId: string,
    finishedAt: string,
    limit: number,
  ): Promise<Map<string, PastResult[]>>;
  state(subject: string): Promise<StateRecord | null>;
  setState(subject: string, record: StateRecord): Promise<void>;
  /** 'sent': the channel has it already, skip it; 'claimed': send it now, then call sent(). */
  claim(key: string, channel: string): Promise<'sent' | 'claimed'>;
  sent(key: string, channel: string): Promise<void>;
  failed(key: string, channel: string, error: string): Promise<void>;
  delivery(key: string, channel: string): Promise<AlertDeliveryRecord | null>;
}

export function createAlertStore(db: Database): AlertStore {
  return {
    async pastResults(paths, runId, finishedAt, limit) {
      const out = new Map<string, PastResult[]>();
      for (let i = 0; i < paths.length; i += CHUNK) {
        const chunk = paths.slice(i, i + CHUNK);
        const rows = await db.query<{ path: string; status: string; flaky: unknown }>(
          `SELECT path, status, flaky FROM (
             SELECT r.path, r.status, r.flaky,
                    ROW_NUMBER() OVER (PARTITION BY r.path ORDER BY r.finished_at DESC, r.run_id DESC) AS rn
             FROM notebook_results r JOIN test_runs t ON t.run_id = r.run_id
             WHERE r.path IN (${marks(chunk.length)}) AND r.run_id <> ? AND r.finished_at < ?
               AND t.kind <> 'pr'
           ) ranked WHERE rn <= ? ORDER BY path, rn`,
          [...chunk, runId, new Date(finishedAt).toISOString(), limit] as SqlValue[],
        );
        for (const r of rows) {
          const list = out.get(r.path) ?? [];
          list.push({ status: r.status as NotebookStatus, flaky: flag(r.flaky) });
          out.set(r.path, list);
        }
      }
      return out;
    },

    async state(subject) {
      const [row] = await db.query<{ state: string; previous_state: string | null; changed_by: string }>(
        'SELECT state, previous_state, changed_by FROM alert_states WHERE subject = ?',
        [subject],
      );
      if (!row) return null;
      return {
        state: row.state as StateRecord['state'],
        previous: (row.previous_state ?? null) as StateRecord['previous'],
        changedBy: row.changed_by,
      };
    },

    async setState(subject, record) {
      await db.query(
        `INSERT INTO alert_states (subject, state, previous_state, changed_by, changed_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (subject) DO UPDATE SET state = excluded.state, previous_state = excluded.previous_state,
           changed_by = excluded.changed_by, changed_at = excluded.changed_at`,
        [subject, record.state, record.previous, record.changedBy, new Date().toISOString()],
      );
    },

    async claim(key, channel) {
      return db.transaction(async (tx) => {
        const [row] = await tx.query<{ state: string }>(
          'SELECT state FROM alert_deliveries WHERE alert_key = ? AND channel = ?',
          [key, channel],
        );
        if (row?.state === 'sent') return 'sent';
        const now = new Date().toISOString();
        await tx.query(
          `INSERT INTO alert_deliveries (alert_key, channel, state, attempts, claimed_at) VALUES (?, ?, 'claimed', 1, ?)
           ON CONFLICT (alert_key, channel) DO UPDATE SET attempts = alert_deliveries.attempts + 1,
             claimed_at = excluded.claimed_at`,
          [key, channel, now],
        );
        return 'claimed';
      });
    },

    async sent(key, channel) {
      await db.query(
        `UPDATE alert_deliveries SET state = 'sent', sent_at = ?, error = NULL WHERE alert_key = ? AND channel = ?`,
        [new Date().toISOString(), key, channel],
      );
    },

    async failed(key, channel, error) {
      await db.query(`UPDATE alert_deliveries SET error = ? WHERE alert_key = ? AND channel = ?`, [
        error.slice(0, 2000),
        key,
        channel,
      ]);
    },

    async delivery(key, channel) {
      const [row] = await db.query<{ state: string; attempts: unknown; error: string | null }>(
        'SELECT state, attempts, error FROM alert_deliveries WHERE alert_key = ? AND channel = ?',
        [key, channel],
      );
      return row
        ? {
            state: row.state as AlertDeliveryRecord['state'],
            attempts: int(row.attempts),
            error: textOrNull(row.error),
          }
        : null;
    },
  };
}

/** The process's alert store for this config's database (shared with the history). */
export function alertStore(config: Pick<Config, 'dataDir' | 'databaseUrl'>): Promise<AlertStore> {
  return sharedDatabase(config).then(createAlertStore);
}
