/**
 * nblc's own database (the per-notebook history): an embedded SQLite file under NBLC_DATA_DIR by
 * default, nothing to start; PostgreSQL when NBLC_DATABASE_URL is set (several hosts, or the
 * compose stack's server). Both behind one small interface, `Database`, so that the store's SQL
 * is written once: `?` placeholders (numbered for PostgreSQL here), text timestamps, integers.
 *
 * The schema is in code (`MIGRATIONS`, migrations.ts): each is applied once, in order (most are
 * idempotent), recorded in `nblc_schema_version`; a process that finds a newer schema than it
 * knows refuses to use it. One database per process and config (`sharedDatabase`).
 */
import { createClient, type Client as LibsqlClient, type InValue } from '@libsql/client';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Config } from './config.js';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';

export { MIGRATIONS, SCHEMA_VERSION };

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

/**
 * `?` → `$1, $2, …` for PostgreSQL. Only a `?` that is SQL is a parameter: the text of string
 * literals (`'…'`, `E'…'`), quoted identifiers, dollar-quoted strings and comments is copied as it
 * is, so a literal holding a `?` keeps it and does not shift the numbers after it.
 */
export function numberPlaceholders(sql: string): string {
  let out = '';
  let n = 0;
  let i = 0;
  while (i < sql.length) {
    const end = skipText(sql, i);
    if (end > i) {
      out += sql.slice(i, end);
      i = end;
    } else if (sql[i] === '?') {
      out += `$${++n}`;
      i++;
    } else out += sql[i++];
  }
  return out;
}

/** Where the literal, quoted identifier or comment starting at `i` ends; `i` when none starts there. */
function skipText(sql: string, i: number): number {
  const c = sql[i];
  const to = (close: string, from: number) => {
    const at = sql.indexOf(close, from);
    return at < 0 ? sql.length : at + close.length;
  };
  if (c === '-' && sql[i + 1] === '-') return to('\n', i + 2);
  if (c === '/' && sql[i + 1] === '*') return to('*/', i + 2);
  if (c === '$') {
    const tag = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i))?.[0];
    return tag ? to(tag, i + tag.length) : i;
  }
  if (c !== "'" && c !== '"') return i;
  // E'…' takes backslash escapes; a quote doubled is one quote in every kind.
  const backslashes = c === "'" && /[eE]/.test(sql[i - 1] ?? '') && !/[A-Za-z0-9_]/.test(sql[i - 2] ?? '');
  let j = i + 1;
  while (j < sql.length) {
    if (backslashes && sql[j] === '\\') j += 2;
    else if (sql[j] === c && sql[j + 1] === c) j += 2;
    else if (sql[j] === c) return j + 1;
    else j++;
  }
  return sql.length;
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

const databases = new Map<string, Promise<Database>>();

/**
 * The process's database for this config, opened (and migrated) on first use and shared by the
 * stores (history, alerts). A failed open is forgotten, so the next call tries again (the
 * database may come up later).
 */
export function sharedDatabase(config: Pick<Config, 'dataDir' | 'databaseUrl'>): Promise<Database> {
  const key = config.databaseUrl?.reveal() ?? sqliteFileOf(config.dataDir);
  let db = databases.get(key);
  if (!db) {
    db = openDatabase(config);
    databases.set(key, db);
    db.catch(() => databases.delete(key));
  }
  return db;
}

/** Closes every database `sharedDatabase` opened in this process (the stack, on stop). */
export async function closeSharedDatabases(): Promise<void> {
  const open = [...databases.values()];
  databases.clear();
  await Promise.all(open.map((d) => d.then((db) => db.close()).catch(() => undefined)));
}
