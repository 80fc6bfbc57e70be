/**
 * Nothing here builds or starts a container: this test keeps docker-compose.yml, the Dockerfile
 * and docs/deployment.md consistent with the code they deploy (src/platform/config.ts, src/domain/search-attributes.ts),
 * so a renamed variable, a new search attribute or a moved mount point fails here, not in
 * production.
 *
 *   node --import tsx --test test/system/deploy/docker-compose.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../../src/platform/config.js';
import { CLI_TYPE_NAMES, SEARCH_ATTRIBUTES } from '../../../src/domain/search-attributes.js';
import {
  commandText,
  compose,
  configOf,
  dependsOn,
  imageOf,
  interpolate,
  mounts,
  NBLC_SERVICES,
  ports,
  rawEnv,
  read,
  ROOT,
  S,
  service,
  services,
  DATABASE_URL_EXAMPLE,
} from '../../helpers/compose.js';

test('the stack has its services: postgres, schema setup, temporal, namespace setup, ui, worker, api', () => {
  for (const name of Object.values(S)) service(name);
  assert.match(service(S.postgres).image ?? '', /^postgres:16(\.|$|-)/);
  assert.match(service(S.schema).image ?? '', /^temporalio\/admin-tools:/);
  assert.match(service(S.temporal).image ?? '', /^temporalio\/server:/);
  assert.equal(service(S.namespace).image, service(S.worker).image, 'the namespace setup runs the nblc image');
  assert.match(service(S.ui).image ?? '', /^temporalio\/ui:/);
});

test('images that are pulled are pinned, and the Temporal server and admin tools are the same release', () => {
  for (const [name, s] of Object.entries(services)) {
    if (s.build) continue;
    const { tag } = imageOf(s);
    assert.ok(tag && tag !== 'latest', `service ${name}: image "${s.image}" must carry a version tag`);
  }
  assert.equal(
    imageOf(service(S.schema)).tag,
    imageOf(service(S.temporal)).tag,
    'admin-tools (schema) and server versions differ',
  );
});

test('the schema job creates and migrates both databases before the server starts', () => {
  const schema = service(S.schema);
  const script = commandText(schema);
  assert.match(script, /temporal-sql-tool/);
  for (const word of ['temporal', 'temporal_visibility', 'create-database', 'setup-schema', 'update-schema']) {
    assert.ok(script.includes(word), `the schema job's script does not mention ${word}`);
  }
  assert.match(script, /postgresql\/v12\/\$\$schema\/versioned|postgresql\/v12\/(temporal|visibility)\/versioned/);
  assert.equal(rawEnv(schema).SQL_PLUGIN, 'postgres12');
  assert.equal(rawEnv(schema).SQL_HOST, S.postgres);
  assert.equal(dependsOn(schema)[S.postgres], 'service_healthy');

  const temporal = service(S.temporal);
  assert.equal(rawEnv(temporal).DB, 'postgres12');
  assert.equal(rawEnv(temporal).POSTGRES_SEEDS, S.postgres);
  assert.equal(dependsOn(temporal)[S.schema], 'service_completed_successfully');
  assert.ok(service(S.postgres).healthcheck?.test, 'postgres needs a healthcheck (the schema job waits for it)');
  assert.ok(temporal.healthcheck?.test, 'temporal needs a healthcheck (the namespace job and the UI wait for it)');
});

test('one-shot scripts escape their shell variables from Compose interpolation ($$)', () => {
  for (const name of [S.schema, S.temporal]) {
    const unescaped = commandText(service(name))
      .replace(/\$\$/g, '')
      .match(/\$\{?[A-Za-z_(]/);
    assert.equal(unescaped, null, `service ${name}: "${unescaped?.[0]}" would be replaced by Compose; write $$`);
  }
});

test("the worker and the API are built from this repository's Dockerfile and run `worker` / `api`", () => {
  for (const [name, cmd] of [
    [S.worker, 'worker'],
    [S.api, 'api'],
  ] as const) {
    const s = service(name);
    assert.ok(s.build, `service ${name} has no build:`);
    const build = typeof s.build === 'string' ? { context: s.build } : s.build;
    assert.equal(path.resolve(ROOT, build.context ?? '.'), ROOT, `service ${name} builds another context`);
    assert.equal(build.dockerfile ?? 'Dockerfile', 'Dockerfile');
    assert.ok(existsSync(path.join(ROOT, 'Dockerfile')));
    assert.deepEqual([s.command].flat(), [cmd]);
    assert.equal(
      dependsOn(s)[S.namespace],
      'service_completed_successfully',
      `service ${name} must wait for the namespace and search attributes`,
    );
  }
});

test("TEMPORAL_ADDRESS points at the temporal service's gRPC frontend (7233)", () => {
  const frontend = rawEnv(service(S.temporal)).FRONTEND_GRPC_PORT ?? '7233';
  assert.equal(frontend, '7233');
  for (const name of [...NBLC_SERVICES, S.ui, S.namespace]) {
    const address = interpolate(rawEnv(service(name)).TEMPORAL_ADDRESS ?? '');
    const [host, port] = address.split(':');
    assert.equal(host, S.temporal, `service ${name}: TEMPORAL_ADDRESS=${address} is not the temporal service`);
    assert.match(service(host!).image ?? '', /^temporalio\/server:/);
    assert.equal(port, '7233', `service ${name}: TEMPORAL_ADDRESS=${address} is not the gRPC port`);
  }
  for (const name of NBLC_SERVICES) assert.equal(configOf(name).temporal.address, 'temporal:7233');
});

test('the namespace the setup creates is the one the worker, the API and the UI use', () => {
  const created = configOf(S.namespace).temporal.namespace;
  for (const name of NBLC_SERVICES) assert.equal(configOf(name).temporal.namespace, created, `service ${name}`);
  assert.equal(interpolate(rawEnv(service(S.ui)).TEMPORAL_DEFAULT_NAMESPACE ?? 'default'), created);
  assert.equal(configOf(S.namespace).temporal.address, configOf(S.worker).temporal.address);
});

test("the setup service runs `nblc temporal setup`, which registers src/domain/search-attributes.ts's list (no second list)", () => {
  const setup = service(S.namespace);
  assert.ok(setup.build, 'the setup service must run the nblc image built from this repository');
  const argv = [setup.command].flat().map((a) => interpolate(String(a)));
  assert.deepEqual(argv.slice(0, 2), ['temporal', 'setup'], `command ${argv.join(' ')} is not \`temporal setup\``);
  assert.equal(setup.entrypoint, undefined, "the image's entrypoint (node bin/nblc.js) runs the command");
  const retention = argv[argv.indexOf('--retention') + 1] ?? '';
  assert.match(retention, /^\d+[smhd]$/, 'the retention is a duration nblc temporal setup takes');
  assert.equal(
    rawEnv(setup).SEARCH_ATTRIBUTES,
    undefined,
    'search attributes come from the code, not the compose file',
  );
  assert.ok(SEARCH_ATTRIBUTES.length > 0);
  for (const sa of SEARCH_ATTRIBUTES) assert.ok(CLI_TYPE_NAMES[sa.type], `${sa.name}: unknown type ${sa.type}`);
  assert.equal(dependsOn(setup)[S.temporal], 'service_healthy');
});

test("the nblc-database job creates the database of the worker's and the API's NBLC_DATABASE_URL", () => {
  const job = service('nblc-database');
  assert.match(job.image ?? '', /^postgres:16(\.|$|-)/);
  assert.equal(dependsOn(job)[S.postgres], 'service_healthy');
  assert.equal(rawEnv(job).PGHOST, S.postgres);
  const script = commandText(job);
  assert.match(script, /createdb/);
  assert.equal(script.replace(/\$\$/g, '').match(/\$\{?[A-Za-z_(]/), null, 'shell variables escaped ($$)');
  const url = new URL(DATABASE_URL_EXAMPLE);
  assert.equal(`/${rawEnv(job).NBLC_DB_NAME}`, url.pathname);
  assert.equal(url.hostname, S.postgres);
  assert.equal(decodeURIComponent(url.username), rawEnv(job).PGUSER);
  for (const name of NBLC_SERVICES) {
    assert.equal(dependsOn(service(name))['nblc-database'], 'service_completed_successfully', name);
    assert.equal(configOf(name).databaseUrl?.reveal(), DATABASE_URL_EXAMPLE, name);
  }
  assert.ok(read('docs/deployment.md').includes('@postgres:5432/nblc'), 'the docs show how to write the URL');
});

test('the API listens on 0.0.0.0 and publishes the port it listens on', () => {
  const cfg = configOf(S.api);
  assert.equal(interpolate(rawEnv(service(S.api)).NBLC_HTTP_HOST ?? ''), '0.0.0.0');
  assert.equal(cfg.http.host, '0.0.0.0');
  const published = ports(service(S.api));
  assert.ok(
    published.some((p) => p.target === cfg.http.port && p.published !== undefined),
    `the api must publish container port ${cfg.http.port} (NBLC_PORT or its default)`,
  );
  assert.ok(
    ports(service(S.ui)).some((p) => p.published === 8233),
    'the Temporal UI is not published on port 8233',
  );
});

test('volumes are mounted where NBLC_DATA_DIR, NBLC_CACHE_DIR and NBLC_USERS_DIR point', () => {
  const where: Record<string, (c: Config) => string> = {
    'nblc-data': (c) => c.dataDir,
    'notebooks-cache': (c) => c.cacheDir,
    users: (c) => c.usersDir,
  };
  for (const volume of Object.keys(where))
    assert.ok(compose.volumes && volume in compose.volumes, `volume ${volume} is not declared`);
  const worker = mounts(service(S.worker));
  const workerCfg = configOf(S.worker);
  for (const [volume, dir] of Object.entries(where)) {
    assert.ok(
      worker.some((m) => m.source === volume && m.target === dir(workerCfg)),
      `the worker must mount volume ${volume} at ${dir(workerCfg)}`,
    );
  }
  for (const name of NBLC_SERVICES) {
    const cfg = configOf(name);
    for (const m of mounts(service(name))) {
      const dir = m.source ? where[m.source] : undefined;
      if (dir) assert.equal(m.target, dir(cfg), `service ${name} mounts ${m.source} where its config does not look`);
    }
  }
});

test("the worker's volume mount points exist in the image, owned by its user", () => {
  const dockerfile = read('Dockerfile');
  for (const m of mounts(service(S.worker))) {
    assert.ok(
      dockerfile.includes(m.target),
      `the Dockerfile does not create ${m.target}, so a new volume there would be root-owned`,
    );
  }
});
