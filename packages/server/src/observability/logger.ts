import { destination, pino, stdTimeFunctions, type DestinationStream, type Logger } from 'pino';

export interface LoggerOptions {
  /** pino level name: `fatal`, `error`, `warn`, `info` (default), `debug`, `trace`, `silent`. */
  level?: string;
  /** Where JSON lines go; standard output by default. Tests pass a stream they read back. */
  destination?: DestinationStream;
}

/** The server's structured logger: one JSON object per line. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'paved-server' },
      timestamp: stdTimeFunctions.isoTime,
      // Belt and braces: nothing logs headers or bodies, but should anything ever pass them along,
      // credentials and values stay out of the log.
      redact: {
        paths: [
          'authorization',
          '*.authorization',
          'headers.authorization',
          'token',
          '*.token',
          'value',
          '*.value',
        ],
        censor: '[redacted]',
      },
    },
    options.destination ?? destination({ dest: 1, sync: true }),
  );
}
