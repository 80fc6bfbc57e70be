/**
 * The deploy test's project (test/system/deploy/compose.test.ts): a copy of this checkout set up the way
 * docs/deployment.md tells an operator (its shell blocks are run, not paraphrased), a local
 * upstream repository the containers fetch from, and the ways in from outside: `docker compose`,
 * the API's published port and the Temporal UI's.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './compose.js';

/** Whether `npm test` runs it: only through scripts/test-deploy.sh (`npm run test:deploy`). */
export const skipDeploy = process.env.NBLC_DEPLOY_TEST
  ? false
  : 'the deploy test runs docker compose for real: `npm run test:deploy` (scripts/test-deploy.sh; .ci/run runs it after npm test)';

/** The fenced ```sh block under a heading (## or ###) of docs/deployment.md: what an operator types there. */
export async function docsBlock(heading: string): Promise<string> {
  const docs = await fs.readFile(path.join(ROOT, 'docs', 'deployment.md'), 'utf8');
  const at = [`\n## ${heading}\n`, `\n### ${heading}\n`].map((h) => docs.indexOf(h)).find((i) => i >= 0) ?? -1;
  if (at < 0) throw new Error(`docs/deployment.md has no section "${heading}"`);
  const block = /```sh\n([\s\S]*?)```/.exec(docs.slice(at));
  if (!block) throw new Error(`no sh block in "${heading}"`);
  return block[1]!;
}

/** A free TCP port on the host, for a published port that nothing else on this machine holds. */
export function freeHostPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A directory that lives as long as the suite: fixtures' tempDir() removes its directory at the
 * end of the hook that made it (a `before` here); the suite's `after` removes these.
 */
export async function deployTempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

/** The operator's checkout: the tracked files of this one (uncommitted edits included). */
export async function operatorCheckout(): Promise<string> {
  const dir = await deployTempDir('nblc-deploy-');
  const files = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'buffer',
  }).stdout.toString('utf8');
  for (const rel of files.split('\0').filter(Boolean)) {
    const from = path.join(ROOT, rel);
    const stat = await fs.lstat(from).catch(() => null);
    if (!stat || stat.isDirectory()) continue; // deleted, or a submodule
    await fs.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await fs.cp(from, path.join(dir, rel), { verbatimSymlinks: true });
  }
  return dir;
}

/** A shell command in the project directory, as the operator runs it. */
export function sh(dir: string, script: string, timeoutMs = 600_000): Result {
  const r = spawnSync('bash', ['-euo', 'pipefail', '-c', script], { cwd: dir, encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? r.error?.message ?? '' };
}

/** `docker compose …` in the project (COMPOSE_FILE and the project name come from its .env). */
export function compose(dir: string, args: string[], timeoutMs = 900_000): Result {
  const r = spawnSync('docker', ['compose', ...args], { cwd: dir, encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? r.error?.message ?? '' };
}

/** Like compose(), but a failure throws with what compose said. */
export function composeOk(dir: string, args: string[], timeoutMs?: number): string {
  const r = compose(dir, args, timeoutMs);
  if (r.code !== 0) {
    const logs = compose(dir, ['logs', '--no-color', '--tail', '40']).stdout;
    throw new Error(`docker compose ${args.join(' ')}: exit ${r.code}\n${r.stderr}\n${r.stdout}\n--- logs\n${logs}`);
  }
  return r.stdout;
}

/** `nblc <args>` inside a service, as docs/deployment.md ("Operating") runs it. */
export function nblc(dir: string, service: string, args: string[]): Result {
  return compose(dir, ['exec', '-T', service, 'node', 'bin/nblc.js', ...args]);
}

/**
 * The upstream repository as the containers reach it: a `git daemon` service (the nblc image has
 * git) serving the test's bare repository, added by a compose file of the test's own, the one
 * thing the operator's files do not have (GitHub is beyond this machine).
 */
export async function upstreamService(dir: string, reposDir: string): Promise<string> {
  const file = 'docker-compose.deploy-test.yml';
  await fs.writeFile(
    path.join(dir, file),
    [
      '# The deploy test only: GitHub for the stack, a git daemon serving the upstream repository.',
      'services:',
      '  upstream:',
      '    image: nblc:local',
      '    pull_policy: never',
      '    user: "0"',
      '    restart: unless-stopped',
      `    entrypoint: ["git", "daemon", "--reuseaddr", "--export-all", "--base-path=/srv/git", "/srv/git"]`,
      '    volumes:',
      `      - ${JSON.stringify(`${reposDir}:/srv/git:ro`)}`,
      '    healthcheck:',
      '      disable: true',
      '',
    ].join('\n'),
  );
  return file;
}

/**
 * An HTTP request to a published port, with the operator token when given. A GET whose
 * connection fails is tried again (three times, a second apart): a kept-alive connection that the
 * server closes as the request goes out is a race of HTTP, not an answer of the API.
 */
export async function http(url: string, token?: string, init: RequestInit = {}): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(url, {
        ...init,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers ?? {}) },
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      const connection = err instanceof TypeError && err.message === 'fetch failed';
      if (!connection || (init.method ?? 'GET') !== 'GET' || attempt >= 3) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
