import { PavedError } from '@paved/core';
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { parsePort, stopSignal } from './server.js';

interface GatewayFlags {
  host?: string;
  port?: string;
  databaseUrl?: string;
}

export interface GatewayCommandOptions {
  host?: string;
  port?: number;
  dataDir: string;
  databaseUrl?: string;
}

/**
 * The options of `startGateway` from the flags and their environment fallbacks
 * (PAVED_GATEWAY_HOST, PAVED_GATEWAY_PORT, PAVED_DATABASE_URL): the port variable is the one
 * `paved server` reads for its `--gateway-port`, so one setting serves both processes.
 */
export function gatewayOptions(
  flags: GatewayFlags,
  dataDir: string,
  env: Record<string, string | undefined>,
): GatewayCommandOptions {
  const pick = (flag: string | undefined, name: string, variable: string) =>
    flag !== undefined
      ? { value: flag, from: name }
      : env[variable]
        ? { value: env[variable], from: variable }
        : undefined;
  const host = pick(flags.host, '--host', 'PAVED_GATEWAY_HOST');
  const port = pick(flags.port, '--port', 'PAVED_GATEWAY_PORT');
  const databaseUrl = pick(flags.databaseUrl, '--database-url', 'PAVED_DATABASE_URL');
  return {
    dataDir,
    ...(host === undefined ? {} : { host: host.value }),
    ...(port === undefined ? {} : { port: parsePort(port.value, port.from) }),
    ...(databaseUrl === undefined ? {} : { databaseUrl: databaseUrl.value }),
  };
}

/** `paved gateway`: serves apps' routes in a process of its own, reading them from the store. */
export function registerGatewayCommand(program: Command, context: CliContext): void {
  program
    .command('gateway')
    .description("serve apps' routes in a process of its own, until Ctrl-C")
    .usage('[--host HOST] [--port PORT] [--data-dir DIR] [--database-url URL]')
    .option('--host <host>', 'address to listen on (env PAVED_GATEWAY_HOST; default 127.0.0.1)')
    .option('--port <port>', 'port to listen on, 0 for a free one (env PAVED_GATEWAY_PORT; default 7080)')
    .option(
      '--database-url <url>',
      "the server's postgres://… store (env PAVED_DATABASE_URL; default SQLite in the data directory)",
    )
    .addHelpText(
      'after',
      `
The gateway reads the routes "paved server" records, from the same store: give it the server's
data directory (--data-dir, env PAVED_DATA_DIR, default ./.paved) or its --database-url. It reads
them again every second (and at once for a host it has no route for), so it needs no connection
to the server, and keeps serving while the server restarts or is upgraded. Run the server with
--separate-gateway and the same port as --gateway-port, so the endpoints it shows point here.

Examples:
  $ paved gateway
  $ paved gateway --port 8080 --database-url postgres://paved@db/paved
  $ paved gateway --port 7080 & paved server --separate-gateway --gateway-port 7080`,
    )
    .action(async (flags: GatewayFlags, command: Command) => {
      const { dataDir } = context.globalOptions(command);
      const options = gatewayOptions(flags, dataDir, context.io.env);
      // Loaded here, not at the top: every other command must start without loading the server.
      const { startGateway } = await import('@paved/server');
      const signal = stopSignal();
      try {
        const gateway = await startGateway(options).catch((error: unknown) => {
          throw error instanceof PavedError
            ? error
            : new PavedError('UNAVAILABLE', `the gateway could not start: ${String(error)}`, {
                cause: error,
              });
        });
        context.print(`Gateway on ${gateway.url}`);
        await signal.received;
        context.printError('Stopping the gateway…');
        await gateway.close();
      } finally {
        signal.dispose();
      }
    });
}
