/**
 * The database module: `?` placeholders become PostgreSQL's `$n` only where they are SQL, never
 * inside a literal, a quoted identifier, a dollar-quoted string or a comment; and the same query
 * with a `?` in a literal binds the same values on both real databases.
 *
 *   node --import tsx --test test/platform/database.test.ts
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { numberPlaceholders, openPostgres, openSqlite, type Database } from '../../src/platform/database.js';
import { tempDir } from '../helpers/fixtures.js';
import { postgresUnavailable, usePostgres } from '../helpers/postgres.js';
import path from 'node:path';

describe('numberPlaceholders', () => {
  test('numbers each SQL `?` in order', () => {
    assert.equal(
      numberPlaceholders('SELECT a FROM t WHERE b = ? AND c IN (?, ?)'),
      'SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)',
    );
  });
  test('leaves a `?` inside a string literal alone, and the numbers after it unshifted', () => {
    assert.equal(numberPlaceholders("SELECT '?' AS q, ? AS v"), "SELECT '?' AS q, $1 AS v");
    assert.equal(numberPlaceholders("WHERE a = 'it''s ?' AND b = ?"), "WHERE a = 'it''s ?' AND b = $1");
    assert.equal(numberPlaceholders("WHERE a = E'\\'?\\'' AND b = ?"), "WHERE a = E'\\'?\\'' AND b = $1");
    assert.equal(
      numberPlaceholders("WHERE a = '\\' AND b = ?"),
      "WHERE a = '\\' AND b = $1",
      'no backslash escapes outside E strings',
    );
  });
  test('leaves quoted identifiers, dollar quotes and comments alone', () => {
    assert.equal(numberPlaceholders('SELECT "a?b" FROM t WHERE x = ?'), 'SELECT "a?b" FROM t WHERE x = $1');
    assert.equal(numberPlaceholders('SELECT $$?$$, $tag$ ? $tag$, ?'), 'SELECT $$?$$, $tag$ ? $tag$, $1');
    assert.equal(numberPlaceholders('SELECT ? -- why?\n, ? /* or? */'), 'SELECT $1 -- why?\n, $2 /* or? */');
  });
  test('an unterminated literal runs to the end (the database then refuses the statement)', () => {
    assert.equal(numberPlaceholders("SELECT ?, 'open ?"), "SELECT $1, 'open ?");
  });
});

const cluster = usePostgres();
const BACKENDS: Array<{ name: string; skip: string | false; open: () => Promise<Database> }> = [
  { name: 'SQLite', skip: false, open: async () => openSqlite(path.join(await tempDir('nblc-db-'), 'x.sqlite')) },
  {
    name: 'PostgreSQL',
    skip: postgresUnavailable() ?? false,
    open: async () => openPostgres(await (await cluster()).createDatabase()),
  },
];

for (const backend of BACKENDS) {
  describe(`a query with a \`?\` in a literal (${backend.name})`, { skip: backend.skip }, () => {
    test('binds its parameters to the `?` outside the literal', async () => {
      const db = await backend.open();
      try {
        const rows = await db.query<{ q: string; v: string; w: string }>(
          "SELECT 'why?' AS q, CAST(? AS TEXT) AS v, 'it''s ?' || CAST(? AS TEXT) AS w",
          ['one', 'two'],
        );
        assert.deepEqual(
          rows.map((r) => ({ ...r })),
          [{ q: 'why?', v: 'one', w: "it's ?two" }],
        );
      } finally {
        await db.close();
      }
    });
  });
}
