/**
 * `nblc temporal certs DIR`: the certificates a Temporal cluster of nblc's needs for mutual TLS on
 * its frontend (scripts/temporal-cluster.sh, docker-compose.yml). A private CA signs one server
 * certificate for the frontend and one client certificate per party: nblc (worker, API, CLI), the
 * Web UI, and the cluster's own system worker. Without a certificate of this CA nothing talks to
 * the frontend, so a process that merely reaches its port (a kernel, a neighbour) is refused.
 *
 * Made with `openssl` (maintained, on every host and in the image) rather than by hand: keys are
 * EC P-256, written 0600; files that exist are kept, so running it again is harmless and renews
 * nothing behind an operator's back (delete a pair to have it made again).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The client certificates made beside the server's, by file name; their common names say who. */
export const CLIENT_CERTS = {
  nblc: 'nblc worker, API and CLI',
  ui: 'the Temporal Web UI',
  internal: "the Temporal server's own system worker",
} as const;

export interface CertOptions {
  /** Names and addresses the frontend is reached by (its certificate's subjectAltName). */
  hosts: string[];
  /** Validity of the certificates, in days. */
  days: number;
  log?: (line: string) => void;
}

export const DEFAULT_HOSTS = ['localhost', '127.0.0.1', 'temporal'];

/** Makes what is missing in `dir`: ca.pem/ca.key, server.pem/server.key, and <client>.pem/.key. */
export async function makeTemporalCerts(dir: string, opts: CertOptions): Promise<string[]> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const made: string[] = [];
  const file = (name: string) => path.join(dir, name);
  const log = opts.log ?? (() => undefined);
  if (!existsSync(file('ca.pem')) || !existsSync(file('ca.key'))) {
    await newKey(file('ca.key'));
    await openssl([
      'req', '-x509', '-new', '-key', file('ca.key'), '-out', file('ca.pem'), '-days', String(opts.days),
      '-subj', '/CN=nblc Temporal CA', '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]); // prettier-ignore
    made.push('ca.pem');
  }
  const san = opts.hosts.map((h) => (isIp(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  await leaf(dir, 'server', 'temporal-frontend', `subjectAltName=${san}\nextendedKeyUsage=serverAuth`, opts, made);
  for (const [name, who] of Object.entries(CLIENT_CERTS)) {
    // The system worker's is also the internode server certificate in the server image's config.
    const usage =
      name === 'internal'
        ? `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth`
        : 'extendedKeyUsage=clientAuth';
    await leaf(dir, name, `nblc-${name}`, `${usage}\n# ${who}`, opts, made);
  }
  for (const f of made) log(`made ${file(f)}`);
  return made;
}

/** One key and certificate signed by the CA, unless both exist. */
async function leaf(dir: string, name: string, cn: string, ext: string, opts: CertOptions, made: string[]) {
  const [key, pem, csr, extFile] = ['key', 'pem', 'csr', 'ext'].map((e) => path.join(dir, `${name}.${e}`)) as [
    string,
    string,
    string,
    string,
  ];
  if (existsSync(key) && existsSync(pem)) return;
  await newKey(key);
  await fs.writeFile(extFile, `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n${ext}\n`);
  try {
    await openssl(['req', '-new', '-key', key, '-out', csr, '-subj', `/CN=${cn}`]);
    await openssl([
      'x509', '-req', '-in', csr, '-CA', path.join(dir, 'ca.pem'), '-CAkey', path.join(dir, 'ca.key'),
      '-CAcreateserial', '-out', pem, '-days', String(opts.days), '-extfile', extFile,
    ]); // prettier-ignore
  } finally {
    await fs.rm(csr, { force: true });
    await fs.rm(extFile, { force: true });
  }
  made.push(`${name}.pem`);
}

/** A fresh EC P-256 key, created 0600 before any byte of it is written. */
async function newKey(file: string) {
  await fs.rm(file, { force: true });
  await (await fs.open(file, 'wx', 0o600)).close();
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
  await fs.chmod(file, 0o600);
}

/** Runs openssl; a missing binary is said in words an operator acts on. */
async function openssl(args: string[]) {
  try {
    await run('openssl', args);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('openssl is not installed: install it (apt-get install openssl)');
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.trim() ?? e.message}`);
  }
}

function isIp(host: string) {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
