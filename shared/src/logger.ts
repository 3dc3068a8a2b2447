import pino from 'pino';

export type Logger = pino.Logger;

export interface LoggerOptions {
  readonly component: string;
  readonly version: string;
  readonly thing: string;
  readonly level?: pino.LevelWithSilent;
  /** Where JSON lines go; stdout (synchronously) when absent, which Greengrass writes to the component log. */
  readonly destination?: pino.DestinationStream;
}

const SECRET_KEYS = [
  'privateKey',
  'key',
  'keyPath',
  'cert',
  'certificate',
  'certificatePem',
  'authToken',
  'svcuid',
  'SVCUID',
  'password',
  'token',
  'body',
  'payload',
  'raw',
];

/** Secrets and payload bodies at the top level and one or two levels down are replaced by a marker. */
export const REDACTED_PATHS: readonly string[] = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { component: options.component, version: options.version, thing: options.thing },
      redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
