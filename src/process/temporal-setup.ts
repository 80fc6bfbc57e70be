/**
 * What nblc needs of a Temporal namespace, made to exist (`nblc temporal setup`) or checked (the
 * worker at start-up): the namespace itself and nblc's custom search attributes, from the one
 * list in search-attributes.ts. Against any cluster: nblc's own (scripts/temporal-cluster.sh,
 * compose), a shared one, or Temporal Cloud (where namespaces are made in its console).
 */
import { isGrpcServiceError, type ConnectionLike } from '@temporalio/client';
import type Long from 'long';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLI_TYPE_NAMES, SEARCH_ATTRIBUTES } from '../domain/search-attributes.js';

/** Something an operator fixes (not a bug): printed without a stack trace, exit status 2. */
export class TemporalSetupError extends Error {
  override name = 'TemporalSetupError';
}

/** gRPC status codes (stable across gRPC implementations). */
const GRPC = { INVALID_ARGUMENT: 3, NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7, UNIMPLEMENTED: 12 };

/** temporal.api.enums.v1.IndexedValueType, by the SDK's SearchAttributeType names. */
const INDEXED_VALUE_TYPES: Record<string, number> = {
  TEXT: 1,
  KEYWORD: 2,
  INT: 3,
  DOUBLE: 4,
  BOOL: 5,
  DATETIME: 6,
  KEYWORD_LIST: 7,
};
const typeName = (indexed: number | null | undefined) =>
  Object.entries(INDEXED_VALUE_TYPES).find(([, v]) => v === indexed)?.[0] ?? `type ${indexed}`;
const cliName = (type: string) => CLI_TYPE_NAMES[type] ?? type;

const code = (err: unknown) => (isGrpcServiceError(err) ? err.code : undefined);
const refused = (err: unknown) => [GRPC.PERMISSION_DENIED, GRPC.UNIMPLEMENTED].includes(code(err) ?? -1);
const detail = (err: unknown) => (isGrpcServiceError(err) ? err.details || err.message : (err as Error).message);

/** How to register them without nblc: Temporal's CLI (self-hosted), or tcld (Temporal Cloud). */
const byHand = (namespace: string, names: string[]) => {
  const sas = names.map((name) => SEARCH_ATTRIBUTES.find((sa) => sa.name === name)!);
  return [
    ...sas.map(
      (sa) =>
        `temporal operator search-attribute create --namespace ${namespace} --name ${sa.name} --type ${cliName(sa.type)}`,
    ),
    `or on Temporal Cloud: tcld namespace search-attributes add --namespace ${namespace} ${sas.map((sa) => `--sa ${sa.name}=${cliName(sa.type)}`).join(' ')}`,
  ].join('\n    ');
};

export interface SetupOptions {
  namespace: string;
  /** Retention of closed workflows, for a namespace that is created (e.g. `720h`). */
  retention: string;
  /** How long to keep trying while the server starts or a new namespace propagates. */
  waitMs: number;
  log: (line: string) => void;
}

/** Retries `fn` while `retryable(err)` holds, until the deadline. */
async function retrying<T>(deadline: number, retryable: (err: unknown) => boolean, fn: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!retryable(err) || Date.now() > deadline) throw err;
      await sleep(500);
    }
  }
}

/**
 * Makes the namespace exist and nblc's search attributes registered in it. Idempotent: on a
 * namespace that is set up, it changes nothing and says so.
 */
export async function setupTemporal(connection: ConnectionLike, opts: SetupOptions): Promise<void> {
  const { namespace, log } = opts;
  const deadline = Date.now() + opts.waitMs;
  // A server that is starting answers UNAVAILABLE (or with a namespace error) for a while.
  const transient = (err: unknown) => !refused(err) && code(err) !== GRPC.INVALID_ARGUMENT;
  await retrying(
    deadline,
    () => true,
    () => connection.workflowService.getSystemInfo({}),
  );

  const exists = await retrying(
    deadline,
    (e) => transient(e) && code(e) !== GRPC.NOT_FOUND,
    () =>
      connection.workflowService.describeNamespace({ namespace }).then(
        () => true,
        (err: unknown) => (code(err) === GRPC.NOT_FOUND ? false : Promise.reject(err)),
      ),
  );
  if (exists) {
    log(`namespace ${namespace} exists`);
  } else {
    try {
      await connection.workflowService.registerNamespace({
        namespace,
        // protobufjs encodes a plain number into the int64 field; the typings only name Long.
        workflowExecutionRetentionPeriod: { seconds: retentionSeconds(opts.retention) as unknown as Long },
      });
      log(`namespace ${namespace} created (retention ${opts.retention})`);
    } catch (err) {
      if (code(err) === GRPC.ALREADY_EXISTS) log(`namespace ${namespace} exists (created meanwhile)`);
      else if (refused(err))
        throw new TemporalSetupError(
          `namespace ${namespace} does not exist, and this Temporal service does not let nblc create it (${detail(err)}). ` +
            'Create it where your provider makes namespaces (on Temporal Cloud: the Cloud UI or `tcld namespace create`), ' +
            'then run `nblc temporal setup` again.',
        );
      else throw err;
    }
  }

  // A namespace just created reaches every frontend's namespace cache within seconds.
  const listed = await retrying(deadline, transient, () => listCustom(connection, namespace));
  const { missing, wrong } = compare(listed);
  if (wrong.length) throw new TemporalSetupError(wrongTypes(namespace, wrong));
  for (const sa of SEARCH_ATTRIBUTES.filter((s) => !missing.includes(s.name)))
    log(`search attribute ${sa.name} (${cliName(sa.type)}) is registered`);
  if (missing.length === 0) return;
  try {
    await retrying(deadline, transient, () =>
      connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(
          missing.map((n) => [n, INDEXED_VALUE_TYPES[SEARCH_ATTRIBUTES.find((s) => s.name === n)!.type]!]),
        ),
      }),
    );
  } catch (err) {
    if (code(err) === GRPC.ALREADY_EXISTS) {
      // Another setup registered them meanwhile: the check below says whether the types agree.
    } else if (refused(err) || code(err) === GRPC.INVALID_ARGUMENT) {
      throw new TemporalSetupError(
        `could not register search attributes ${missing.join(', ')} in namespace ${namespace}: ${detail(err)}. ` +
          `Register them with an account that may (on Temporal Cloud: the namespace's page in the Cloud UI, or tcld):\n    ${byHand(namespace, missing)}`,
      );
    } else throw err;
  }
  // Registration reaches every frontend shortly after; wait for it, so the worker's check passes.
  for (;;) {
    const now = compare(await retrying(deadline, transient, () => listCustom(connection, namespace)));
    if (now.wrong.length) throw new TemporalSetupError(wrongTypes(namespace, now.wrong));
    if (now.missing.length === 0) break;
    if (Date.now() > deadline)
      throw new TemporalSetupError(`search attributes ${now.missing.join(', ')} did not appear in ${namespace}`);
    await sleep(500);
  }
  for (const n of missing)
    log(`search attribute ${n} (${cliName(SEARCH_ATTRIBUTES.find((s) => s.name === n)!.type)}) registered`);
}

export interface SetupCheck {
  /** The namespace does not exist. */
  noNamespace: boolean;
  missing: string[];
  wrong: Array<{ name: string; expected: string; actual: string }>;
}

/** What is missing; throws a {@link TemporalSetupError} naming `nblc temporal setup` if anything is. */
export async function checkTemporalSetup(
  connection: ConnectionLike,
  namespace: string,
  address: string,
): Promise<void> {
  let listed: Record<string, number>;
  try {
    listed = await listCustom(connection, namespace);
  } catch (err) {
    if (code(err) === GRPC.NOT_FOUND)
      throw new TemporalSetupError(
        `Temporal namespace ${namespace} does not exist at ${address}: run \`nblc temporal setup\` (same TEMPORAL_* settings) to create it and register nblc's search attributes.`,
      );
    // Not allowed to list (e.g. an API key without that permission): the workflows fail loudly
    // on a missing attribute anyway, so this check is a convenience, not a gate.
    if (refused(err)) return;
    throw err;
  }
  const { missing, wrong } = compare(listed);
  if (wrong.length) throw new TemporalSetupError(wrongTypes(namespace, wrong));
  if (missing.length)
    throw new TemporalSetupError(
      `Temporal namespace ${namespace} at ${address} lacks nblc's search attributes ${missing.join(', ')}: ` +
        'run `nblc temporal setup` (same TEMPORAL_* settings) once, then start the worker again.',
    );
}

async function listCustom(connection: ConnectionLike, namespace: string): Promise<Record<string, number>> {
  const res = await connection.operatorService.listSearchAttributes({ namespace });
  return res.customAttributes ?? {};
}

function compare(listed: Record<string, number>) {
  const missing: string[] = [];
  const wrong: SetupCheck['wrong'] = [];
  for (const sa of SEARCH_ATTRIBUTES) {
    if (!(sa.name in listed)) missing.push(sa.name);
    else if (listed[sa.name] !== INDEXED_VALUE_TYPES[sa.type])
      wrong.push({ name: sa.name, expected: cliName(sa.type), actual: cliName(typeName(listed[sa.name])) });
  }
  return { missing, wrong };
}

function wrongTypes(namespace: string, wrong: SetupCheck['wrong']): string {
  return (
    `search attributes in namespace ${namespace} have other types than nblc needs: ` +
    wrong.map((w) => `${w.name} is ${w.actual}, nblc writes ${w.expected}`).join('; ') +
    '. A search attribute cannot change its type: use another namespace, or remove it (`temporal operator search-attribute remove`) if nothing else uses it.'
  );
}

/** `720h`, `30d`, `3600s` → seconds (Temporal's minimum retention is one day). */
export function retentionSeconds(text: string): number {
  const m = /^(\d+)\s*(s|m|h|d)$/.exec(text.trim());
  if (!m) throw new TemporalSetupError(`--retention takes a duration such as 720h or 30d (not ${text})`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as 's'];
}
