/**
 * nblc's schema, in code: each step applied once, in order, by `migrate` (database.ts), which
 * records it in `nblc_schema_version`. Data only, so that the steps read as one list.
 */
/**
 * One measurement of a kernel's environment: the columns of run_environments (v3) and
 * run_kernel_environments (v5), written once so the two tables keep one shape (environment-store.ts
 * writes both with one row builder). The SQL each step runs is unchanged by sharing it.
 */
const ENVIRONMENT_COLUMNS = `kernel TEXT NOT NULL,
        python TEXT,
        fingerprint TEXT,
        packages TEXT NOT NULL,
        error TEXT,
        measured_at TEXT NOT NULL,
        finished_at TEXT NOT NULL`;

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
        ${ENVIRONMENT_COLUMNS}
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
        ${ENVIRONMENT_COLUMNS},
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
