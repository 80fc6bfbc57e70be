/**
 * nblc's own database (the per-notebook history): an embedded SQLite file under NBLC_DATA_DIR by
 * default, nothing to start; PostgreSQL when NBLC_DATABASE_URL is set (several hosts, or the
 * compose stack's server). Both behind one small interface, `Database`, so that the store's SQL
 * is written once: `?` placeholders (numbered for PostgreSQL here), text timestamps, integers.
 *
 * The schema is in code (`MIGRATIONS`): each is applied once, in order (most are idempotent), recorded
 * in `nblc_schema_version`; a process that finds a newer schema than it knows refuses to use it.
 */
import { createClient, type Client as LibsqlClient, type InValue } from '@libsql/client';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Config } from './config.js';

export type SqlValue = string | number | null;
export type Row = Record<string, unknown>;

export interface Queryable {
  query<R extends Row = Row>(sql: string, args?: readonly SqlValue[]): Promise<R[]>;
}

export interface Database extends Queryable {
  readonly dialect: 'sqlite' | 'postgres';
  /** Where it is, without credentials (for logs). */
  readonly location: string;
  /** `fn` in one transaction that writes: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Another process writing waits this long before SQLite answers "database is locked". */
const SQLITE_BUSY_TIMEOUT_MS = 10_000;

export function sqliteFileOf(dataDir: string): string {
  return path.join(dataDir, 'nblc.sqlite');
}

export async function openSqlite(file: string): Promise<Database> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const client: LibsqlClient = createClient({
    url: `file:${file}`,
    timeout: SQLITE_BUSY_TIMEOUT_MS,
    // A small pool: the API reads while a run is recorded; SQLite has one writer anyway.
    concurrency: 4,
  });
  // WAL: readers (the API) do not block the writer (recordRun) and vice versa; kept in the file.
  await client.execute('PRAGMA journal_mode = WAL');
  const asRows = <R>(rs: { rows: unknown[] }) => rs.rows.map((r) => ({ ...(r as object) })) as R[];
  // This process's write transactions one after the other: a second BEGIN IMMEDIATE on another
  // of the client's connections fails at once with SQLITE_BUSY (libsql does not wait for it),
  // so two runs recorded together would depend on the activity's retries.
  let writes: Promise<unknown> = Promise.resolve();
  return {
    dialect: 'sqlite',
    location: file,
    async query<R extends Row = Row>(sql: string, args: readonly SqlValue[] = []) {
      return asRows<R>(await client.execute({ sql, args: args as InValue[] }));
    },
    transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const turn = writes.then(() => writeTransaction(fn));
      writes = turn.catch(() => undefined);
      return turn;
    },
    async close() {
      client.close();
    },
  };

  async function writeTransaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const tx = await client.transaction('write'); // BEGIN IMMEDIATE: one writer at a time
    try {
      const result = await fn({
        query: async <R extends Row = Row>(sql: string, args: readonly SqlValue[] = []) =>
          asRows<R>(await tx.execute({ sql, args: args as InValue[] })),
      });
      await tx.commit();
      return result;
    } catch (err) {
      await tx.rollback().catch(() => undefined);
      throw err;
    } finally {
      tx.close();
    }
  }
}

/** `?` → `$1, $2, …` (the store's SQL has no `?` inside literals). */
export function numberPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

// 64-bit integers (BIGINT, COUNT(*)) come back as strings by default: the store converts what
// it reads with Number(), so nothing is lost below 2^53 (bytes, milliseconds, counts).
export async function openPostgres(url: string): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  // An idle client that loses its connection must not crash the process (pg emits 'error').
  pool.on('error', () => undefined);
  const run = async <R extends Row>(c: pg.Pool | pg.PoolClient, sql: string, args: readonly SqlValue[] = []) =>
    (await c.query(numberPlaceholders(sql), args as unknown[])).rows as R[];
  await run(pool, 'SELECT 1'); // fail at start, not at the first request
  const u = new URL(url);
  return {
    dialect: 'postgres',
    location: `postgresql://${u.host}${u.pathname}`,
    query: (sql, args) => run(pool, sql, args),
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn({ query: (sql, args) => run(client, sql, args) });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

/** The schema, one idempotent step per version. Append; never edit a released step. */
export const MIGRATIONS: ReadonlyArray<{ version: number; statements: string[] }> = [
  {
    version: 1,
    statements: [
      `CREATE TABLE IF NOT EXISTS test_runs (
        run_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        commit_sha TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        recorded_at TEXT NOT NULL
      )`,
      // finished_at is the run's, copied so that a notebook's history is one index range.
      `CREATE TABLE IF NOT EXISTS notebook_results (
        run_id TEXT NOT NULL REFERENCES test_runs (run_id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        status TEXT NOT NULL,
        cause TEXT,
        duration_ms BIGINT NOT NULL,
        peak_memory_bytes BIGINT,
        attempts INTEGER NOT NULL,
        flaky INTEGER NOT NULL,
        finished_at TEXT NOT NULL,
        PRIMARY KEY (run_id, path)
      )`,
      'CREATE INDEX IF NOT EXISTS notebook_results_by_path ON notebook_results (path, finished_at, run_id)',
    ],
  },
  {
    // Alerts (src/storage/alerts/alert-store.ts): each alert's delivery per channel, claimed then sent,
    // so that a retried or replayed run sends it once; and run-level states (a kind of run that
    // cannot run, the sync), with the run that changed them, so that its retries see the change.
    version: 2,
    statements: [
      `CREATE TABLE IF NOT EXISTS alert_deliveries (
        alert_key TEXT NOT NULL,
        channel TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        claimed_at TEXT NOT NULL,
        sent_at TEXT,
        error TEXT,
        PRIMARY KEY (alert_key, channel)
      )`,
      `CREATE TABLE IF NOT EXISTS alert_states (
        subject TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        previous_state TEXT,
        changed_by TEXT NOT NULL,
        changed_at TEXT NOT NULL
      )`,
    ],
  },
  {
    // Environment provenance: the kernel environment each run ran in (packages as JSON, name →
    // version), and each result's notebook blob, so that a newly failing notebook can say what
    // changed since it last passed. ADD COLUMN is not idempotent, but runs once, as every step.
    version: 3,
    statements: [
      `CREATE TABLE IF NOT EXISTS run_environments (
        run_id TEXT PRIMARY KEY REFERENCES test_runs (run_id) ON DELETE CASCADE,
        kernel TEXT NOT NULL,
        python TEXT,
        fingerprint TEXT,
        packages TEXT NOT NULL,
        error TEXT,
        measured_at TEXT NOT NULL,
        finished_at TEXT NOT NULL
      )`,
      'CREATE INDEX IF NOT EXISTS run_environments_by_time ON run_environments (finished_at, run_id)',
      'ALTER TABLE notebook_results ADD COLUMN blob TEXT',
    ],
  },
  {
    // The overview per notebook (notebook-summaries.ts), maintained by record(); the results
    // recorded before are summarized on the first read (the pending work below).
    version: 4,
    statements: [
      'CREATE TABLE IF NOT EXISTS notebook_summaries (path TEXT PRIMARY KEY, summary TEXT NOT NULL)',
      'CREATE TABLE IF NOT EXISTS nblc_pending_work (name TEXT PRIMARY KEY)',
      "INSERT INTO nblc_pending_work (name) SELECT 'rebuild-notebook-summaries' WHERE EXISTS (SELECT 1 FROM notebook_results)",
    ],
  },
  {
    // Kernels (src/storage/runs/kernel-store.ts): each kernel a run used and its environment (a
    // run's primary kernel stays in run_environments too), and the registry of the kernelspecs
    // each worker has, with the last measurement of each there.
    version: 5,
    statements: [
      `CREATE TABLE IF NOT EXISTS run_kernel_environments (
        run_id TEXT NOT NULL REFERENCES test_runs (run_id) ON DELETE CASCADE,
        kernel TEXT NOT NULL,
        python TEXT,
        fingerprint TEXT,
        packages TEXT NOT NULL,
        error TEXT,
        measured_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        PRIMARY KEY (run_id, kernel)
      )`,
      'CREATE INDEX IF NOT EXISTS run_kernel_environments_by_kernel ON run_kernel_environments (kernel, finished_at)',
      `CREATE TABLE IF NOT EXISTS worker_kernels (
        worker TEXT NOT NULL,
        name TEXT NOT NULL,
        display_name TEXT NOT NULL,
        language TEXT NOT NULL,
        seen_at TEXT NOT NULL,
        python TEXT,
        fingerprint TEXT,
        packages TEXT,
        error TEXT,
        measured_at TEXT,
        PRIMARY KEY (worker, name)
      )`,
    ],
  },
];

export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

/**
 * Brings the schema to SCHEMA_VERSION. Concurrent starts (worker and API) are serialized: by an
 * advisory lock on PostgreSQL, by SQLite's single writer; the second finds the work done.
 */
export async function migrate(db: Database): Promise<void> {
  await db.transaction(async (tx) => {
    if (db.dialect === 'postgres') await tx.query("SELECT pg_advisory_xact_lock(hashtext('nblc-migrations'))");
    await tx.query(
      'CREATE TABLE IF NOT EXISTS nblc_schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)',
    );
    const [row] = await tx.query<{ v: unknown }>('SELECT MAX(version) AS v FROM nblc_schema_version');
    const current = row?.v === null || row?.v === undefined ? 0 : Number(row.v);
    if (current > SCHEMA_VERSION) {
      throw new Error(
        `the database ${db.location} has schema version ${current}, newer than this nblc knows (${SCHEMA_VERSION}): upgrade nblc`,
      );
    }
    for (const m of MIGRATIONS.filter((m) => m.version > current)) {
      for (const sql of m.statements) await tx.query(sql);
      await tx.query('INSERT INTO nblc_schema_version (version, applied_at) VALUES (?, ?)', [
        m.version,
        new Date().toISOString(),
      ]);
    }
  });
}

/** Opens (and migrates) the database the config names. */
export async function openDatabase(config: Pick<Config, 'dataDir' | 'databaseUrl'>): Promise<Database> {
  const db = config.databaseUrl
    ? await openPostgres(config.databaseUrl.reveal())
    : await openSqlite(sqliteFileOf(config.dataDir));
  try {
    await migrate(db);
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
  return db;
}
