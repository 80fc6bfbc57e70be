/**
 * The Dockerfile, .dockerignore and the deployment guide, kept consistent with the code they
 * ship (Debian base, lock files, a non-root user, variables the code reads, every variable and
 * service documented). Nothing is built here.
 *
 *   node --import tsx --test test/system/deploy/dockerfile.test.ts
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { CONFIG_VARIABLES } from '../../../src/platform/config.js';
import { compose, isTemporalConnectionVariable, read, ROOT, S } from '../../helpers/compose.js';

// ---------------------------------------------------------------------------------------------
// The Dockerfile.

interface Instruction {
  op: string;
  args: string;
}

/** Instructions of the Dockerfile: comments dropped, continuation lines joined. */
function dockerfileInstructions(text: string): Instruction[] {
  const logical: string[] = [];
  let current = '';
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*#/.test(line) && !current) continue;
    if (/^\s*#/.test(line)) continue; // comment lines inside a continuation are skipped too
    if (/\\\s*$/.test(line)) {
      current += line.replace(/\\\s*$/, ' ');
      continue;
    }
    current += line;
    if (current.trim()) logical.push(current.trim());
    current = '';
  }
  if (current.trim()) logical.push(current.trim());
  return logical.map((l) => {
    const m = /^(\S+)\s*(.*)$/.exec(l)!;
    return { op: m[1]!.toUpperCase(), args: m[2]! };
  });
}

const instructions = dockerfileInstructions(read('Dockerfile'));
const ops = (op: string) => instructions.filter((i) => i.op === op);
/** The final stage: the instructions after the last FROM. */
const finalStage = instructions.slice(instructions.map((i) => i.op).lastIndexOf('FROM'));

test('the Dockerfile builds on Debian (glibc for the Temporal core bridge), not Alpine', () => {
  let from = finalStage[0]!.args.split(/\s+/).find((w) => !w.startsWith('--'))!;
  // FROM ${NODE_IMAGE}: the base is a build argument (docker-compose.local.yml swaps in a local
  // stand-in); its default is the official image, and the stand-in is Debian bookworm too.
  const arg = /^\$\{?(\w+)\}?$/.exec(from)?.[1];
  if (arg) {
    const declared = ops('ARG').find((i) => i.args.startsWith(`${arg}=`));
    assert.ok(declared, `FROM \${${arg}} without an ARG ${arg}=<default>`);
    from = declared.args.slice(arg.length + 1);
    assert.match(read('docker-compose.local.yml'), new RegExp(`${arg}: nblc-local/node:20-bookworm-slim`));
  }
  assert.doesNotMatch(from, /alpine/i, `base image ${from} is Alpine (musl)`);
  assert.match(from, /bookworm|bullseye|trixie|debian/i, `base image ${from} is not visibly Debian-based`);
});

test("the Dockerfile's ENTRYPOINT runs node bin/nblc.js", () => {
  const [entrypoint] = finalStage.filter((i) => i.op === 'ENTRYPOINT').slice(-1);
  assert.ok(entrypoint, 'no ENTRYPOINT');
  const argv = JSON.parse(entrypoint.args) as string[];
  const node = argv.indexOf('node');
  assert.ok(
    node >= 0 && argv[node + 1] === 'bin/nblc.js',
    `ENTRYPOINT ${entrypoint.args} does not run node bin/nblc.js`,
  );
  assert.ok(existsSync(path.join(ROOT, 'bin', 'nblc.js')), 'bin/nblc.js does not exist');
});

test('the Dockerfile installs from the lock files: package-lock.json (npm ci, no devDependencies) and requirements.txt', () => {
  const copied = ops('COPY')
    .map((i) =>
      i.args
        .split(/\s+/)
        .filter((w) => !w.startsWith('--'))
        .slice(0, -1),
    )
    .flat();
  assert.ok(copied.includes('package-lock.json'), 'the Dockerfile does not COPY package-lock.json');
  assert.ok(copied.includes('requirements.txt'), 'the Dockerfile does not COPY requirements.txt');
  const runs = ops('RUN')
    .map((i) => i.args)
    .join('\n');
  assert.match(runs, /npm ci\b[^\n]*--omit=dev/, 'no `npm ci --omit=dev`');
  assert.match(runs, /-m venv \.venv\b/, 'the venv must be .venv in the project root (config.ts looks there)');
  assert.match(runs, /\.venv\/bin\/pip install[^\n]*-r requirements\.txt/);
  for (const tool of ['git', 'python3', 'python3-venv'])
    assert.match(runs, new RegExp(`\\b${tool}\\b`), `${tool} is not installed`);
});

test('the image runs as a non-root user, has a healthcheck for the API, and sets only variables the code reads', () => {
  const [user] = finalStage.filter((i) => i.op === 'USER').slice(-1);
  assert.ok(user, 'no USER: the container would run as root');
  assert.doesNotMatch(user.args, /^(root|0)(:|$)/);
  const [health] = finalStage.filter((i) => i.op === 'HEALTHCHECK').slice(-1);
  assert.ok(health && /\/healthz/.test(health.args), 'no HEALTHCHECK probing /healthz');
  for (const env of ops('ENV')) {
    for (const key of env.args.match(/\b(?:NBLC|TEMPORAL)_[A-Z0-9_]+(?==)/g) ?? []) {
      assert.ok(
        CONFIG_VARIABLES.includes(key) || isTemporalConnectionVariable(key),
        `the Dockerfile sets ${key}, which nothing reads`,
      );
    }
  }
});

test('.dockerignore keeps secrets, local settings and installed dependencies out of the build context', () => {
  const ignored = read('.dockerignore')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  for (const entry of ['secrets', '.env', 'node_modules', '.venv', '.git']) {
    assert.ok(ignored.includes(entry) || ignored.includes(`${entry}/`), `.dockerignore does not exclude ${entry}`);
  }
});

// ---------------------------------------------------------------------------------------------
// The deployment guide.

test('docs/deployment.md documents every variable nblc reads and every service', () => {
  const docs = read('docs/deployment.md');
  for (const variable of [...CONFIG_VARIABLES, 'TEMPORAL_API_KEY', 'TEMPORAL_TLS']) {
    assert.ok(docs.includes(`\`${variable}\``), `docs/deployment.md does not document ${variable}`);
  }
  for (const name of Object.values(S))
    assert.ok(docs.includes(`\`${name}\``), `docs/deployment.md does not mention service ${name}`);
  // Each secret's file, or the folder a command makes it in (secrets/temporal-tls/ by `nblc temporal certs`).
  for (const [secret, { file }] of Object.entries(compose.secrets ?? {})) {
    const made = path.posix.normalize(file ?? `secrets/${secret}`);
    assert.ok(
      docs.includes(made) || docs.includes(`${path.posix.dirname(made)}/`),
      `docs/deployment.md does not say how to create ${made} (secret ${secret})`,
    );
  }
});
