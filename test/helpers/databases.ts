/**
 * A fresh nblc database on either backend, for tests that run the same checks on both: an SQLite
 * file in a temporary directory, or a new database in the test file's PostgreSQL cluster
 * (`usePostgres()`, called at the top level of the test file).
 */
import { openDatabase, type Database } from '../../src/platform/database.js';
import { Secret } from '../../src/platform/secret.js';
import { tempDir } from './fixtures.js';
import { postgresUnavailable, type TestPostgres } from './postgres.js';

export type Backend = 'sqlite' | 'postgres';
export const BACKENDS: readonly Backend[] = ['sqlite', 'postgres'];

/** For describe's `skip`: why the backend cannot be tested here, or false. */
export const backendSkip = (backend: Backend): string | false =>
  backend === 'postgres' ? (postgresUnavailable() ?? false) : false;

export async function freshDatabase(backend: Backend, cluster: () => Promise<TestPostgres>): Promise<Database> {
  if (backend === 'sqlite') return openDatabase({ dataDir: await tempDir('nblc-db-') });
  return openDatabase({ dataDir: '/nonexistent', databaseUrl: new Secret(await (await cluster()).createDatabase()) });
}
