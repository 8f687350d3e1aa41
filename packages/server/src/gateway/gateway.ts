import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { PavedError } from '@paved/core';
// The module alone, not the package's index: the gateway process needs no container engine client.
import { isRepeatable } from '@paved/runtimes/process/repeatable-request';
import type { Store } from '@paved/store';
import type { Logger } from 'pino';
import { RouteTable } from './route-table.js';

export const DEFAULT_GATEWAY_PORT = 7080;

/** How often routes are read again, so changes made by another server replica show up. */
const REFRESH_MS = 3000;

/**
 * A request for a host and path no route serves waits for the routes to be read again after it
 * arrived (a deployment may just have added its route, in another process), and such reads start
 * at most this often, so that traffic for unknown hosts cannot turn into a query per request: it
 * costs an unknown host up to this long before its 404.
 */
const MISS_REFRESH_MS = 250;

/**
 * How long an idle upstream connection is kept: below the 5 s after which Node servers (the
 * forwarders among them) close idle connections, so the gateway is usually the one to close them.
 */
const UPSTREAM_IDLE_MS = 4000;

/** Hop-by-hop headers are for one connection only and are not forwarded (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export interface GatewayOptions {
  store: Store;
  logger: Logger;
  /** How often routes are read again; 3 s by default. */
  refreshMs?: number;
}

/**
 * The gateway: serves apps' `route` resources to their users by host and path, as a reverse
 * proxy to the workloads' host ports. It runs inside `paved server` (embedded) or in a process of
 * its own (`paved gateway`, `start-gateway.ts`); either way it only reads the routes the
 * deployment engine records in the store. Traffic through it is the apps' own and is never
 * authenticated by Paved.
 */
export class Gateway {
  readonly #store: Store;
  readonly #logger: Logger;
  readonly #refreshMs: number;
  /**
   * Upstream connections kept alive for idempotent requests without a body. A workload's stable
   * port is its forwarder, which outlives deployments and sends each HTTP request to the instance
   * current when the request arrives (ADR 0016), so a kept connection follows a switch. A reused
   * connection the forwarder closed meanwhile (it was restarted) is noticed before any answer, and
   * such a request is sent once more on a new connection; any other request gets a connection of
   * its own, as it cannot be sent twice. Clients' own connections to the gateway stay keep-alive.
   */
  readonly #agent = new Agent({
    keepAlive: true,
    maxSockets: 256,
    timeout: UPSTREAM_IDLE_MS,
    scheduling: 'lifo',
  });
  #table = new RouteTable([]);
  #server: Server | undefined;
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | undefined;
  #lastRefresh = 0;
  /** The read that requests without a route wait for, until it starts querying. */
  #missRead: Promise<void> | undefined;

  constructor(options: GatewayOptions) {
    this.#store = options.store;
    this.#logger = options.logger.child({ component: 'gateway' });
    this.#refreshMs = options.refreshMs ?? REFRESH_MS;
  }

  /** Reads the routes again now (after a deployment is recorded). */
  async refresh(): Promise<void> {
    this.#refreshing ??= (async () => {
      this.#lastRefresh = Date.now();
      try {
        this.#table = new RouteTable(await this.#store.routes.list());
      } catch (error) {
        this.#logger.warn({ err: error }, 'gateway: reading routes failed; serving the last ones read');
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  /** Listens on host:port (0 = any free port); returns the port. */
  async listen(host: string, port: number): Promise<number> {
    await this.refresh();
    const server = createServer((request, response) => this.#handle(request, response));
    await new Promise<void>((done, fail) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        fail(
          new PavedError(
            'UNAVAILABLE',
            error.code === 'EADDRINUSE'
              ? `gateway port ${port} on ${host} is in use; stop what uses it or choose another port (paved server --gateway-port, paved gateway --port)`
              : `the gateway cannot listen on ${host}:${port}: ${error.message}`,
            { cause: error },
          ),
        ),
      );
      server.listen(port, host, () => done());
    });
    this.#server = server;
    this.#timer = setInterval(() => void this.refresh(), this.#refreshMs);
    this.#timer.unref();
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) {
      await new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      });
    }
    await this.#missRead;
    await this.#refreshing;
    this.#agent.destroy();
  }

  #handle(request: IncomingMessage, response: ServerResponse): void {
    const hostHeader = request.headers.host ?? '';
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const route = this.#table.match(hostHeader, path);
    if (route === undefined) {
      // The request waits for the routes; its body stays buffered in the socket meanwhile.
      void this.#readAfterMiss().then(() => this.#serve(request, response, hostHeader, path));
      return;
    }
    this.#serve(request, response, hostHeader, path);
  }

  /**
   * Resolves once the routes were read by a query that began after this call: a read already under
   * way may have begun before the missing route was committed, and serving its answer would give a
   * 404 to a request sent after `paved deploy --wait` returned. Misses arriving together share the
   * next read, which starts no sooner than MISS_REFRESH_MS after the previous one.
   */
  #readAfterMiss(): Promise<void> {
    this.#missRead ??= (async () => {
      for (;;) {
        while (this.#refreshing !== undefined) await this.#refreshing;
        const wait = this.#lastRefresh + MISS_REFRESH_MS - Date.now();
        if (wait <= 0) break;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
      // From here on a miss needs a read of its own: this one may begin before it arrives.
      this.#missRead = undefined;
      await this.refresh();
    })();
    return this.#missRead;
  }

  #serve(
    request: IncomingMessage,
    response: ServerResponse,
    hostHeader: string,
    path: string,
    stale = false,
  ): void {
    const route = this.#table.match(hostHeader, path);
    if (route === undefined) {
      page(
        response,
        404,
        'No route',
        `Paved's gateway has no route for host "${hostHeader}" and path "${path}".`,
      );
      return;
    }
    const [upstreamHost, upstreamPort] = splitUpstream(route.upstream);
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    }
    const client = request.socket.remoteAddress ?? '';
    const forwardedFor = request.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = forwardedFor === undefined ? client : `${String(forwardedFor)}, ${client}`;
    headers['x-forwarded-host'] = hostHeader;
    headers['x-forwarded-proto'] = 'http';

    const repeatable = isRepeatable(request);
    let answered = false;
    const upstream = httpRequest(
      {
        host: upstreamHost,
        port: upstreamPort,
        method: request.method,
        path: request.url,
        headers,
        // Only what may be sent twice reuses a connection; a retry never does.
        agent: repeatable && !stale ? this.#agent : false,
      },
      (answer) => {
        answered = true;
        const answerHeaders: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(answer.headers)) {
          if (value !== undefined && !HOP_BY_HOP.has(name)) answerHeaders[name] = value;
        }
        response.writeHead(answer.statusCode ?? 502, answer.statusMessage, answerHeaders);
        answer.pipe(response);
        answer.on('error', () => response.destroy());
      },
    );
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      if (upstream.reusedSocket && !answered && !response.destroyed) {
        // The kept connection was closed as it was reused; the request has no body and is
        // idempotent: send it again on a new connection.
        response.off('close', stopUpstream);
        this.#serve(request, response, hostHeader, path, true);
        return;
      }
      this.#logger.debug({ upstream: route.upstream, code: error.code }, 'gateway: upstream failed');
      if (response.headersSent) {
        response.destroy();
        return;
      }
      page(
        response,
        502,
        'Bad gateway',
        `The workload "${route.workload}" of ${route.app}/${route.env} does not answer (${error.code ?? error.message}).`,
      );
    });
    // A client that goes away stops the upstream request too.
    const stopUpstream = (): void => {
      if (!response.writableFinished) upstream.destroy();
    };
    response.on('close', stopUpstream);
    // A request without a body is complete as it is, and may be sent again after it ended.
    if (repeatable) upstream.end();
    else request.pipe(upstream);
  }
}

function splitUpstream(upstream: string): [string, number] {
  const colon = upstream.lastIndexOf(':');
  return [upstream.slice(0, colon), Number(upstream.slice(colon + 1))];
}

function page(response: ServerResponse, status: number, title: string, message: string): void {
  const body = `<!doctype html>\n<html><head><title>${status} ${escapeHtml(title)}</title></head><body><h1>${status} ${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></body></html>\n`;
  response.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
