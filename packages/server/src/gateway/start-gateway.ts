import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PavedError } from '@paved/core';
import { openStore, SQLITE_FILE_NAME } from '@paved/store';
import type { DestinationStream } from 'pino';
import { createLogger } from '../observability/logger.js';
import { DEFAULT_GATEWAY_PORT, Gateway } from './gateway.js';

/** How often a separate gateway reads the routes: a new route is served within this long. */
export const SEPARATE_GATEWAY_REFRESH_MS = 1000;

export interface GatewayProcessOptions {
  /** Address to listen on; 127.0.0.1 by default. */
  host?: string;
  /** Port to listen on; 7080 by default, 0 for any free port. */
  port?: number;
  /** The server's data directory, where the SQLite store is (unused with `databaseUrl`). */
  dataDir: string;
  /** `postgres://…` when the server keeps its state in PostgreSQL. */
  databaseUrl?: string;
  /** How often routes are read; 1 s by default. */
  refreshMs?: number;
  /** pino level; `info` by default. */
  logLevel?: string;
  /** Where JSON log lines go; standard output by default. */
  logDestination?: DestinationStream;
}

export interface RunningGateway {
  /** Where apps' routes are served, e.g. `http://127.0.0.1:7080`. */
  url: string;
  close(): Promise<void>;
}

/**
 * Runs `paved gateway`: the gateway in a process of its own, reading routes from the same store
 * as `paved server` (SQLite in the data directory, or PostgreSQL), so the API server can be
 * restarted or upgraded while apps keep being served. It needs nothing else of the server: no
 * master key (routes are not secret), no runtime; upstreams are the stable host ports on this
 * machine.
 *
 * @example
 * const gateway = await startGateway({ dataDir: '.paved', port: 0 });
 * console.log(gateway.url);
 * await gateway.close();
 */
export async function startGateway(options: GatewayProcessOptions): Promise<RunningGateway> {
  const logger = createLogger({
    ...(options.logLevel === undefined ? {} : { level: options.logLevel }),
    ...(options.logDestination === undefined ? {} : { destination: options.logDestination }),
  }).child({ service: 'paved-gateway' });
  const dataDir = resolve(options.dataDir);
  if (options.databaseUrl === undefined && !existsSync(join(dataDir, SQLITE_FILE_NAME))) {
    // Creating an empty store here would race the server's own first start (SQLite migrations
    // take no lock) and serve nothing anyway.
    throw new PavedError(
      'UNAVAILABLE',
      `there is no Paved store in ${dataDir} (${SQLITE_FILE_NAME}): start "paved server" with this data directory first, or pass the server's --data-dir or --database-url`,
    );
  }
  const store = await openStore({
    dataDir,
    ...(options.databaseUrl === undefined ? {} : { databaseUrl: options.databaseUrl }),
  });
  const gateway = new Gateway({
    store,
    logger,
    refreshMs: options.refreshMs ?? SEPARATE_GATEWAY_REFRESH_MS,
  });
  const host = options.host ?? '127.0.0.1';
  let port: number;
  try {
    port = await gateway.listen(host, options.port ?? DEFAULT_GATEWAY_PORT);
  } catch (error) {
    await gateway.close();
    await store.close();
    throw error;
  }
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const url = `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
  logger.info({ url }, 'paved gateway listening');
  let closing: Promise<void> | undefined;
  return {
    url,
    close: () =>
      (closing ??= (async () => {
        await gateway.close();
        await store.close();
        logger.info({ url }, 'paved gateway stopped');
      })()),
  };
}
