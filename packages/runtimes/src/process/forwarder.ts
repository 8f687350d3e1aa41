/**
 * The port forwarder of one workload: a detached Node process (`node forwarder.js <spec.json>`)
 * that owns the workload's stable host ports on 127.0.0.1 and relays each new TCP connection to
 * the instance named in `routes.json`. Instances listen on their own ephemeral ports, so a
 * replacement can start beside the old one; switching is one atomic rewrite of the routes file,
 * read again for every connection whose file changed. Open connections stay with the instance
 * they were made to until it stops; the forwarder keeps a count of them per instance port in
 * `connections.json`, so the runtime can let an old instance finish them before stopping it. It is separate from the server so that other workloads reach
 * this one while the server restarts.
 *
 * The docker target runs the same script, one per workload port, relaying to the port a container
 * publishes on 127.0.0.1 (`docker/detached-forwarder.ts`).
 */
import { readFileSync, statSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { identify } from './process-identity.js';
import { writeJsonAtomic } from './state-file.js';
import type {
  ForwarderConnections,
  ForwarderRoutes,
  ForwarderSpec,
  ForwarderState,
} from './forwarder-spec.js';

const specPath = process.argv[2];
if (specPath === undefined) {
  process.stderr.write('usage: forwarder <spec.json>\n');
  process.exit(2);
}
const spec = JSON.parse(readFileSync(specPath, 'utf8')) as ForwarderSpec;
const self = identify(process.pid) ?? { pid: process.pid, startTime: '' };

let routes: ForwarderRoutes | undefined;
let routesStamp = '';
function currentRoutes(): ForwarderRoutes | undefined {
  try {
    const stat = statSync(spec.routesFile);
    const stamp = `${stat.ino}:${stat.mtimeMs}:${stat.size}`;
    if (stamp !== routesStamp) {
      routes = JSON.parse(readFileSync(spec.routesFile, 'utf8')) as ForwarderRoutes;
      routesStamp = stamp;
    }
  } catch {
    // No routes yet (the first instance is not ready): refuse connections.
    return undefined;
  }
  return routes;
}

const sockets = new Set<Socket>();
const open = new Map<number, number>();
let reportPending = false;
function reportConnections(): void {
  const file = spec.connectionsFile;
  if (file === undefined || reportPending) return;
  reportPending = true;
  // One write per turn of the event loop however many connections opened or closed in it.
  setImmediate(() => {
    reportPending = false;
    const connections: ForwarderConnections = { open: Object.fromEntries(open) };
    try {
      writeJsonAtomic(file, connections);
    } catch {
      // The runtime then waits until its drain timeout; the relay itself is unaffected.
    }
  });
}
function count(target: number, delta: number): void {
  const next = (open.get(target) ?? 0) + delta;
  if (next > 0) open.set(target, next);
  else open.delete(target);
  reportConnections();
}

function relay(name: string, client: Socket, tried?: number): void {
  const target = currentRoutes()?.targets[name];
  if (target === undefined || target === tried) {
    client.destroy();
    return;
  }
  const upstream = connect({ host: '127.0.0.1', port: target });
  sockets.add(client);
  sockets.add(upstream);
  let connected = false;
  let counted = true;
  count(target, 1);
  const uncount = (): void => {
    if (!counted) return;
    counted = false;
    count(target, -1);
  };
  const close = (): void => {
    client.destroy();
    upstream.destroy();
    sockets.delete(client);
    sockets.delete(upstream);
    uncount();
  };
  upstream.once('connect', () => {
    connected = true;
    client.pipe(upstream);
    upstream.pipe(client);
  });
  upstream.on('error', () => {
    if (connected) {
      close();
      return;
    }
    // The instance went away between reading the routes and connecting (a switch in progress):
    // try once more with the routes as they are now. Nothing has been sent yet.
    upstream.destroy();
    sockets.delete(upstream);
    uncount();
    relay(name, client, target);
  });
  upstream.on('close', () => {
    if (connected) close();
  });
  client.on('error', close).on('close', close);
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
    const server = createServer((socket) => relay(name, socket));
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
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
  if (spec.connectionsFile !== undefined) writeJsonAtomic(spec.connectionsFile, { open: {} });
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
