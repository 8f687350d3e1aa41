/**
 * The forwarder's HTTP/1.x relay for one port. Each request goes to the instance active when that
 * request arrives, so a client's kept-alive connection follows a switch at its next request
 * instead of staying pinned to the old instance until the drain times out. Only requests in
 * progress (and upgraded tunnels) count as in flight; an idle kept-alive client connection is tied
 * to no instance.
 *
 * Upstream connections are kept alive and reused per instance (`upstream-pool.ts`): a new
 * connection per request cost about a TCP handshake per call. Only idempotent requests without a
 * body go on reused connections, so that one failing on a reused connection before any answer (the
 * instance closed it as it was being reused) can be sent once more on a new one, as RFC 9110
 * (9.2.2) allows; any other request gets a connection of its own.
 *
 * It never listens itself: the forwarder hands it sockets whose first bytes look like HTTP
 * (`forwarder-sniff.ts`) with `emit('connection', socket)`.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { RelayContext } from './forwarder-relay.js';
import type { ResolvedTarget } from './forwarder-routes.js';
import { hasNoBody, isRepeatable } from './repeatable-request.js';
import { UpstreamPool } from './upstream-pool.js';

// Headers that describe one hop (client ↔ forwarder or forwarder ↔ instance), not the message.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export function createHttpRelay(context: RelayContext, name: string): Server {
  const pool = new UpstreamPool();
  // requestTimeout 0: long uploads, streams and SSE pass as they would straight to the instance.
  const server = createServer({ requestTimeout: 0 }, (req, res) => forward(context, pool, name, req, res));
  server.on('close', () => pool.close());
  server.on('upgrade', (req: IncomingMessage, client: Duplex, head: Buffer) =>
    tunnel(context, name, req, client as Socket, head),
  );
  return server;
}

/** A target that did not accept the connection, and why; the one retry must find another. */
interface Refused {
  target: ResolvedTarget;
  error: NodeJS.ErrnoException;
}

/** How a retried request was sent the first time. */
interface Retry {
  /** The target refused the connection: the retry must find another one. */
  refused?: Refused;
  /** A reused connection failed before any answer: the retry takes a new one to the same target. */
  stale?: boolean;
}

function forward(
  context: RelayContext,
  pool: UpstreamPool,
  name: string,
  req: IncomingMessage,
  res: ServerResponse,
  retry: Retry = {},
): void {
  const { refused } = retry;
  const target = context.routes.target(name);
  if (target === undefined || target.key === refused?.target.key) {
    badGateway(res, unreachable(name, refused));
    return;
  }
  // Connections kept for instances no longer routed to are let go once nothing runs on them.
  pool.keepOnly(target.key, (key) => context.counts.idle(key));
  const bodiless = hasNoBody(req);
  const repeatable = isRepeatable(req);
  const headers = endToEnd(req.rawHeaders);
  // The body's framing is ours to choose on the new hop; for a body of unknown length that is
  // chunked, which Node would not pick by itself for a GET or DELETE.
  if (req.headers['transfer-encoding'] !== undefined) headers.push('Transfer-Encoding', 'chunked');
  const upstream = request({
    host: target.host,
    port: target.port,
    method: req.method,
    path: req.url,
    // An array of raw headers keeps their case and order.
    headers,
    // Kept-alive connections only for what can be sent again (see the top of this file).
    agent: repeatable && retry.stale !== true ? pool.agent(target.key) : false,
    setHost: false,
  });
  const release = context.counts.hold(target.key);
  // 'close': the response is done, or the client went away; either way nothing more to relay.
  let closed = false;
  const onClose = (): void => {
    closed = true;
    release();
    upstream.destroy();
  };
  res.once('close', onClose);
  let connected = false;
  let reused = false;
  let answered = false;
  const send = (): void => {
    connected = true;
    // Only now: a body already handed to a request that then failed to connect would be lost
    // to the retry. A request without one is complete as it is.
    if (bodiless) upstream.end();
    else req.pipe(upstream);
  };
  upstream.once('socket', (socket) => {
    context.track(socket);
    if (upstream.reusedSocket) {
      reused = true;
      send();
    } else socket.once('connect', send);
  });
  upstream.on('response', (response) => {
    answered = true;
    res.sendDate = false;
    res.writeHead(response.statusCode ?? 502, response.statusMessage, endToEnd(response.rawHeaders));
    response.pipe(res);
    // An instance that dies mid-response: cut the client's connection too, so it sees a failure
    // rather than a response that just stops.
    response.on('error', () => res.destroy());
    response.on('close', () => {
      if (!response.complete) res.destroy();
    });
  });
  upstream.on('error', (error: NodeJS.ErrnoException) => {
    if (closed) return;
    if (!connected || (reused && !answered)) {
      // Not connected: the instance went away between reading the routes and connecting (a switch
      // in progress); try once more with the routes as they are now. Nothing has been sent yet.
      // Reused and unanswered: the instance closed an idle connection as it was being reused; the
      // request is idempotent and has no body, so sending it again on a new connection is safe.
      res.off('close', onClose);
      release();
      upstream.destroy();
      forward(context, pool, name, req, res, connected ? { stale: true } : { refused: { target, error } });
      return;
    }
    if (!res.headersSent) badGateway(res, unreachable(name, { target, error }));
    else res.destroy();
  });
}

/**
 * An upgrade (WebSocket and the like): the request head goes to the active instance, then bytes
 * pass raw both ways, the instance's answer included — a refusal too, after which the connection
 * stays a raw relay to that instance until it closes. The tunnel is in flight on its instance until
 * either side closes.
 */
function tunnel(
  context: RelayContext,
  name: string,
  req: IncomingMessage,
  client: Socket,
  head: Buffer,
  refused?: Refused,
): void {
  const target = context.routes.target(name);
  if (target === undefined || target.key === refused?.target.key) {
    const body = `${unreachable(name, refused)}\n`;
    client.end(
      `HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    return;
  }
  const upstream = connect({ host: target.host, port: target.port });
  context.track(client);
  context.track(upstream);
  const release = context.counts.hold(target.key);
  let connected = false;
  const close = (): void => {
    client.destroy();
    upstream.destroy();
    release();
  };
  upstream.once('connect', () => {
    connected = true;
    upstream.write(requestHead(req, endToEnd(req.rawHeaders, ['connection', 'upgrade'])));
    if (head.length > 0) upstream.write(head);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  upstream.on('error', (error: NodeJS.ErrnoException) => {
    if (connected) {
      close();
      return;
    }
    upstream.destroy();
    release();
    client.off('error', close).off('close', close);
    tunnel(context, name, req, client, head, { target, error });
  });
  upstream.on('close', () => {
    if (connected) close();
  });
  client.on('error', close).on('close', close);
}

/** `raw` (name, value, name, value…) without hop-by-hop headers, except those in `keep`. */
function endToEnd(raw: string[], keep: string[] = []): string[] {
  const drop = new Set([...HOP_BY_HOP].filter((header) => !keep.includes(header)));
  // Headers the sender named in `Connection` are hop-by-hop too (RFC 9110, 7.6.1).
  for (let index = 0; index + 1 < raw.length; index += 2) {
    if (raw[index]?.toLowerCase() !== 'connection') continue;
    for (const named of (raw[index + 1] ?? '').split(',')) {
      const header = named.trim().toLowerCase();
      if (header !== '' && !keep.includes(header)) drop.add(header);
    }
  }
  const kept: string[] = [];
  for (let index = 0; index + 1 < raw.length; index += 2) {
    const header = raw[index] ?? '';
    if (!drop.has(header.toLowerCase())) kept.push(header, raw[index + 1] ?? '');
  }
  return kept;
}

function requestHead(req: IncomingMessage, headers: string[]): string {
  let head = `${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/${req.httpVersion}\r\n`;
  for (let index = 0; index + 1 < headers.length; index += 2)
    head += `${headers[index]}: ${headers[index + 1]}\r\n`;
  return `${head}\r\n`;
}

function unreachable(name: string, refused?: Refused): string {
  if (refused === undefined) return `paved forwarder: port "${name}" has no active instance to relay to`;
  const { target, error } = refused;
  return `paved forwarder: port "${name}": the instance at ${target.host}:${target.port} is unreachable (${error.code ?? error.message})`;
}

function badGateway(res: ServerResponse, message: string): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = `${message}\n`;
  res.writeHead(502, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}
