/**
 * Connections to Temporal. A real cluster is described by Temporal's standard variables
 * (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, profiles in
 * TEMPORAL_CONFIG_FILE), read by @temporalio/envconfig, plus TEMPORAL_API_KEY_FILE for secrets
 * mounted as files; without TEMPORAL_ADDRESS nblc talks to
 * its embedded dev server on loopback.
 */
import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnection } from '@temporalio/worker';
import type { Config } from './config.js';

export function connectionOptions(config: Pick<Config, 'env' | 'temporal'>) {
  const env = Object.fromEntries(Object.entries(config.env).filter(([, v]) => v !== undefined)) as Record<
    string,
    string
  >;
  delete env.TEMPORAL_API_KEY_FILE;
  // Through envconfig, so that its rules (an API key turns TLS on) hold for a key from a file too.
  if (config.temporal.apiKey) env.TEMPORAL_API_KEY = config.temporal.apiKey.reveal();
  const { connectionOptions: opts } = loadClientConnectConfig({ overrideEnvVars: env });
  return {
    ...opts,
    address: config.temporal.address ?? `127.0.0.1:${config.temporal.embedded.port}`,
  };
}

export async function connectClient(config: Config): Promise<Client> {
  const connection = await Connection.connect(connectionOptions(config));
  return new Client({ connection, namespace: config.temporal.namespace });
}

export async function connectWorker(config: Config): Promise<NativeConnection> {
  // Loaded here: the commands that only need a client (nblc copy, sync, test) start without it.
  const { NativeConnection } = await import('@temporalio/worker');
  return NativeConnection.connect(connectionOptions(config));
}
