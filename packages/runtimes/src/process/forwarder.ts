/**
 * The port forwarder of one workload: a detached Node process (`node forwarder.js <spec.json>`)
 * that owns the workload's stable ports and relays what arrives on them to the instance named in
 * `routes.json`. Instances listen on their own ephemeral ports, so a replacement can start beside
 * the old one; switching is one atomic rewrite of the routes file, read again whenever it changed.
 *
 * Each accepted connection is sniffed (`forwarder-sniff.ts`): HTTP/1.x goes to an in-process relay
 * (`http-relay.ts`) that routes every request on its own, so kept-alive clients move to the new
 * instance at their next request; anything else (or a client that waits for the server to speak
 * first) is relayed as plain TCP, tied to the instance it was made to until it closes (`forwarder-
 * tcp.ts`). What is in flight per instance is kept in `connections.json` (`forwarder-counts.ts`),
 * so the runtime can let an old instance finish it before stopping it. It is separate from the
 * server so that other workloads reach this one while the server restarts.
 *
 * The docker target runs the same script, one per workload port, relaying to the port a container
 * publishes on 127.0.0.1 (`docker/detached-forwarder.ts`).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { InFlightCounts } from './forwarder-counts.js';
import type { RelayContext } from './forwarder-relay.js';
import { RouteTable } from './forwarder-routes.js';
import { sniff } from './forwarder-sniff.js';
import type { ForwarderSpec, ForwarderState } from './forwarder-spec.js';
import { relayTcp } from './forwarder-tcp.js';
import { createHttpRelay } from './http-relay.js';
import { identify } from './process-identity.js';
import { writeJsonAtomic } from './state-file.js';

const specPath = process.argv[2];
if (specPath === undefined) {
  process.stderr.write('usage: forwarder <spec.json>\n');
  process.exit(2);
}
const spec = JSON.parse(readFileSync(specPath, 'utf8')) as ForwarderSpec;
const self = identify(process.pid) ?? { pid: process.pid, startTime: '' };
const listenHost = spec.listenHost ?? '127.0.0.1';

const sockets = new Set<Socket>();
const context: RelayContext = {
  routes: new RouteTable(spec.routesFile),
  counts: new InFlightCounts(spec.connectionsFile),
  track(socket) {
    if (sockets.has(socket)) return;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  },
};

function accept(name: string, httpRelay: Server, socket: Socket): void {
  context.track(socket);
  // Between sniffing and a relay taking the socket over, an error must not go unhandled: that
  // would end the forwarder and every other connection with it. The relays add their own.
  socket.on('error', () => undefined);
  void sniff(socket).then((protocol) => {
    switch (protocol) {
      case 'http':
        httpRelay.emit('connection', socket);
        // The HTTP server reads the socket's handle directly from now on; the bytes sniffing put
        // back wait in the stream's buffer and must reach its parser first. Resuming here flows
        // them on this tick, before the event loop reads anything newer from the handle.
        socket.resume();
        return;
      case 'tcp':
        relayTcp(context, name, socket);
        return;
      case 'closed':
        socket.destroy();
        return;
    }
  });
}

async function listen(name: string, port: number): Promise<[string, Server, number]> {
  const range = spec.freePortRange;
  if (port !== 0 || range === undefined) return listenOn(name, port);
  const [low, high] = range;
  for (let attempt = 0; attempt < 20; attempt += 1) {
    try {
      return await listenOn(name, low + Math.floor(Math.random() * (high - low + 1)));
    } catch (error) {
      if ((error as { code?: string }).code !== 'EADDRINUSE') throw error;
    }
  }
  return listenOn(name, 0);
}

function listenOn(name: string, port: number): Promise<[string, Server, number]> {
  return new Promise((resolve, reject) => {
    const httpRelay = createHttpRelay(context, name);
    const server = createServer((socket) => accept(name, httpRelay, socket));
    server.once('error', reject);
    server.listen({ host: listenHost, port, exclusive: true }, () => {
      const address = server.address();
      resolve([name, server, typeof address === 'object' && address !== null ? address.port : port]);
    });
  });
}

try {
  const bound = await Promise.all(spec.ports.map((port) => listen(port.name, port.hostPort)));
  const state: ForwarderState = {
    token: spec.token,
    process: self,
    ports: Object.fromEntries(bound.map(([name, , port]) => [name, port])),
  };
  context.counts.reset();
  writeJsonAtomic(spec.stateFile, state);
  const shutdown = (): void => {
    for (const [, server] of bound) server.close();
    for (const socket of sockets) socket.destroy();
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  process.on('SIGHUP', () => undefined);
} catch (error) {
  const state: ForwarderState = { token: spec.token, process: self, ports: {}, error: String(error) };
  writeJsonAtomic(spec.stateFile, state);
  process.exit(1);
}
