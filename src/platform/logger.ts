import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON logs on stderr (stdout stays free for command output). Secret-bearing fields are
 * censored as a second line of defence; Secret values already print as [redacted].
 */
export function createLogger(level: string = process.env.NBLC_LOG_LEVEL ?? 'info', name = 'nblc'): Logger {
  return pino(
    {
      name,
      level,
      redact: {
        paths: ['*.secret', '*.token', '*.password', 'headers["x-hub-signature-256"]', 'headers.authorization'],
        censor: '[redacted]',
      },
    },
    pino.destination(2),
  );
}
