import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PavedError } from '@paved/core';
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';

interface ServerFlags {
  host?: string;
  port?: string;
  databaseUrl?: string;
  gatewayPort?: string;
  separateGateway?: boolean;
  metricsPublic?: boolean;
}

export interface ServerCommandOptions {
  host?: string;
  port?: number;
  dataDir: string;
  databaseUrl?: string;
  gatewayPort?: number;
  gateway?: 'embedded' | 'separate';
  metricsPublic?: boolean;
}

/**
 * The options of `startServer` from the flags, their environment fallbacks (PAVED_HOST, PAVED_PORT,
 * PAVED_DATABASE_URL, PAVED_GATEWAY_PORT) and the global data directory. Defaults the flags leave
 * open are the server's to choose.
 */
export function serverOptions(
  flags: ServerFlags,
  dataDir: string,
  env: Record<string, string | undefined>,
): ServerCommandOptions {
  const pick = (flag: string | undefined, name: string, variable: string) =>
    flag !== undefined
      ? { value: flag, from: name }
      : env[variable]
        ? { value: env[variable], from: variable }
        : undefined;
  const host = pick(flags.host, '--host', 'PAVED_HOST');
  const port = pick(flags.port, '--port', 'PAVED_PORT');
  const databaseUrl = pick(flags.databaseUrl, '--database-url', 'PAVED_DATABASE_URL');
  const gatewayPort = pick(flags.gatewayPort, '--gateway-port', 'PAVED_GATEWAY_PORT');
  return {
    dataDir,
    ...(host === undefined ? {} : { host: host.value }),
    ...(port === undefined ? {} : { port: parsePort(port.value, port.from) }),
    ...(databaseUrl === undefined ? {} : { databaseUrl: databaseUrl.value }),
    ...(gatewayPort === undefined ? {} : { gatewayPort: parsePort(gatewayPort.value, gatewayPort.from) }),
    ...(flags.separateGateway === true || env.PAVED_SEPARATE_GATEWAY === '1'
      ? { gateway: 'separate' as const }
      : {}),
    ...(flags.metricsPublic === true ? { metricsPublic: true } : {}),
  };
}

export function parsePort(value: string, from: string): number {
  const port = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  if (!(port >= 0 && port <= 65535)) {
    throw new PavedError(
      'INVALID_INPUT',
      `${from} "${value}" is not a port: use 0 to 65535 (0 picks a free port)`,
    );
  }
  return port;
}

/** `paved server`: runs the API server (and, unless --separate-gateway, the gateway) in this process. */
export function registerServerCommand(program: Command, context: CliContext): void {
  program
    .command('server')
    .description('run the Paved server in the foreground until Ctrl-C')
    .usage(
      '[--host HOST] [--port PORT] [--data-dir DIR] [--database-url URL] [--gateway-port PORT] [--separate-gateway] [--metrics-public]',
    )
    .option('--host <host>', 'address to listen on (env PAVED_HOST; default 127.0.0.1)')
    .option('--port <port>', 'port to listen on, 0 for a free one (env PAVED_PORT; default 7070)')
    .option(
      '--database-url <url>',
      'postgres://… to keep state in PostgreSQL (env PAVED_DATABASE_URL; default SQLite in the data directory)',
    )
    .option(
      '--gateway-port <port>',
      "port of the gateway serving apps' routes (env PAVED_GATEWAY_PORT; default 7080)",
    )
    .option(
      '--separate-gateway',
      'do not serve routes in this process: a "paved gateway" does, on --gateway-port (env PAVED_SEPARATE_GATEWAY=1)',
    )
    .option('--metrics-public', 'serve /metrics without a token')
    .addHelpText(
      'after',
      `
The data directory (--data-dir, env PAVED_DATA_DIR, default ./.paved) holds the SQLite
database, the master key, uploaded contexts and process logs. On the first start the server
creates an administrator and writes its credential to <data dir>/credentials.json; the CLI
uses that file for this server's URL when run with the same data directory.

Examples:
  $ paved server
  $ paved server --port 8080 --data-dir /var/lib/paved
  $ PAVED_DATABASE_URL=postgres://paved@db/paved paved server --host 0.0.0.0
  $ paved server --port 0 --data-dir "$(mktemp -d)"   # a throw-away server on a free port
  $ paved gateway & paved server --separate-gateway  # restarts of the server drop no app traffic`,
    )
    .action(async (flags: ServerFlags, command: Command) => {
      const { dataDir } = context.globalOptions(command);
      const options = serverOptions(flags, dataDir, context.io.env);
      // Loaded here, not at the top: every other command must start without loading the server.
      const { startServer } = await import('@paved/server');
      // Listening for signals before saying "listening": whoever waits for that line may signal
      // at once, and a signal without a handler would kill the process without closing the store.
      const signal = stopSignal();
      try {
        const server = await startServer(options);
        const credentials = join(dataDir, 'credentials.json');
        // The file exists unless the administrator was created from another data directory (a
        // shared PostgreSQL store); then the token is wherever that start wrote it.
        const where = existsSync(credentials)
          ? `The administrator's credential is in ${credentials}`
          : `There is no credential file in ${dataDir}: the administrator was created by a server with another data directory; use its token in PAVED_TOKEN`;
        // One write, so that whoever waits for the first line finds the others with it. The
        // gateway's address is what to call a deployed route on (`Host: <route host>`).
        const gateway =
          server.gateway === 'embedded'
            ? `Gateway on ${server.gatewayUrl}`
            : `Routes are served by "paved gateway" on ${server.gatewayUrl}`;
        context.print(`Paved is listening on ${server.url}\n${gateway}\n${where}`);
        await signal.received;
        context.printError('Stopping Paved…');
        await server.close();
      } finally {
        signal.dispose();
      }
    });
}

/**
 * Resolves `received` on the first SIGINT or SIGTERM; a second one exits at once, for a close that
 * hangs. `dispose` restores the default handling.
 */
export function stopSignal(): { received: Promise<void>; dispose(): void } {
  const force = () => process.exit(130);
  let onFirst: () => void = () => undefined;
  const received = new Promise<void>((done) => {
    onFirst = () => {
      process.off('SIGINT', onFirst);
      process.off('SIGTERM', onFirst);
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      done();
    };
  });
  process.on('SIGINT', onFirst);
  process.on('SIGTERM', onFirst);
  return {
    received,
    dispose: () => {
      for (const name of ['SIGINT', 'SIGTERM'] as const) {
        process.off(name, onFirst);
        process.off(name, force);
      }
    },
  };
}
