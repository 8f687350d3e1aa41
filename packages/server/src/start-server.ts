import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { Clock } from '@paved/core';
import { PavedError } from '@paved/core';
import { openStore } from '@paved/store';
import { createAdaptorServer } from '@hono/node-server';
import type { DestinationStream } from 'pino';
import { ensureAdministrator, ensureDataDir, loadOrCreateMasterKey } from './bootstrap.js';
import { createServer } from './create-server.js';
import { createLogger } from './observability/logger.js';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 7070;

export interface ServerOptions {
  /** Address to listen on; 127.0.0.1 by default. */
  host?: string;
  /** Port to listen on; 7070 by default, 0 for any free port. */
  port?: number;
  /** The data directory: SQLite database, master key, credential file. */
  dataDir: string;
  /** `postgres://…` to keep state in PostgreSQL instead of SQLite in the data directory. */
  databaseUrl?: string;
  /** Serve `/metrics` without a token. */
  metricsPublic?: boolean;
  /** pino level; `info` by default. */
  logLevel?: string;
  clock?: Clock;
  /**
   * Port of the gateway that serves apps' routes. Accepted so `paved server --gateway-port` can
   * pass it; the gateway arrives with the issue that adds routes, until then it is not started.
   */
  gatewayPort?: number;
  /** Targets environments may use; `process` by default. */
  targets?: readonly string[];
  /** Where JSON log lines go; standard output by default. */
  logDestination?: DestinationStream;
}

export interface RunningServer {
  /** The URL the server answers at, e.g. `http://127.0.0.1:7070`. */
  url: string;
  close(): Promise<void>;
}

/**
 * Runs `paved server`: prepares the data directory (mode 0700, master key), opens and migrates the
 * store, listens, and on the first start creates the administrator and its credential file.
 *
 * @example
 * const server = await startServer({ dataDir: '.paved', port: 0 });
 * console.log(server.url);
 * await server.close();
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const logger = createLogger({
    ...(options.logLevel === undefined ? {} : { level: options.logLevel }),
    ...(options.logDestination === undefined ? {} : { destination: options.logDestination }),
  });
  const dataDir = resolve(options.dataDir);
  await ensureDataDir(dataDir, logger);
  const masterKey = await loadOrCreateMasterKey(dataDir, logger);
  const store = await openStore({
    dataDir,
    ...(options.databaseUrl === undefined ? {} : { databaseUrl: options.databaseUrl }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });

  try {
    const { app } = createServer({
      store,
      masterKey,
      logger,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.metricsPublic === undefined ? {} : { metricsPublic: options.metricsPublic }),
      ...(options.targets === undefined ? {} : { targets: options.targets }),
    });
    const host = options.host ?? DEFAULT_HOST;
    const server = createAdaptorServer({ fetch: app.fetch });
    await new Promise<void>((done, fail) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        const port = options.port ?? DEFAULT_PORT;
        fail(
          error.code === 'EADDRINUSE'
            ? new PavedError(
                'UNAVAILABLE',
                `port ${port} on ${host} is in use; stop what uses it or pass --port`,
                {
                  cause: error,
                },
              )
            : new PavedError('UNAVAILABLE', `cannot listen on ${host}:${port}: ${error.message}`, {
                cause: error,
              }),
        );
      });
      server.listen(options.port ?? DEFAULT_PORT, host, () => done());
    });
    const url = urlOf(host, (server.address() as AddressInfo).port);

    try {
      await ensureAdministrator(store, { dataDir, url, logger });
    } catch (error) {
      await new Promise((done) => server.close(done));
      throw error;
    }
    logger.info({ url }, 'paved server listening');

    let closing: Promise<void> | undefined;
    return {
      url,
      close: () =>
        (closing ??= (async () => {
          await new Promise<void>((done, fail) => {
            server.close((error) => (error === undefined ? done() : fail(error)));
            // Keep-alive connections would hold close() open until they time out.
            if ('closeAllConnections' in server) server.closeAllConnections();
          });
          await store.close();
          logger.info({ url }, 'paved server stopped');
        })()),
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** The URL clients use: a wildcard address is reached through loopback on this machine. */
function urlOf(host: string, port: number): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}
