/**
 * What every store's SQL needs, written once: placeholders for lists of values, and reading a
 * row's columns. SQLite and PostgreSQL hand back the same column differently (a BIGINT or a
 * COUNT(*) is a string from pg, a number from SQLite; absent values are null or undefined), so
 * the stores read every column through these instead of converting at each use.
 */

/** `?, ?, ?`: one placeholder per value, for `IN (…)`. */
export function marks(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}

/** `(?, ?), (?, ?)`: `rows` tuples of `width` placeholders, for a multi-row `VALUES`. */
export function tuples(rows: number, width: number): string {
  return Array.from({ length: rows }, () => `(${marks(width)})`).join(', ');
}

/** A column that is never null (keys, timestamps, names). */
export const text = (v: unknown): string => String(v);

/** A column that may be null. */
export const textOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/** An integer column (exact below 2^53: bytes, milliseconds, counts); an absent aggregate is 0. */
export const int = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

/** An integer column that may be null. */
export const intOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** A 0/1 flag column. */
export const flag = (v: unknown): boolean => Number(v) === 1;
