/**
 * The port forwarder as a real detached process (started the way the runtimes start it), relaying
 * to real upstream servers: HTTP requests routed one by one across a switch, plain TCP as before,
 * and the counts the runtimes drain by.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request, type IncomingMessage, type Server } from 'node:http';
import { connect, createServer as createNetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  targetKey,
  type ForwarderConnections,
  type ForwarderRoutes,
  type ForwarderSpec,
  type ForwarderState,
  type ForwarderTarget,
} from './forwarder-spec.js';
import { spawnNodeScript } from './node-script.js';
import { isAlive, signalIdentified, type ProcessIdentity } from './process-identity.js';
import { readJson, writeJsonAtomic } from './state-file.js';
import { startResettingUpstream } from '../testing/resetting-upstream.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Forwarder {
  port: number;
  routesFile: string;
  route(targets: Record<string, number | ForwarderTarget>): void;
  open(): Record<string, number>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startForwarder(): Promise<Forwarder> {
  const dir = mkdtempSync(join(tmpdir(), 'paved-forwarder-'));
  const spec: ForwarderSpec = {
    token: `t${Date.now()}`,
    stateFile: join(dir, 'state.json'),
    routesFile: join(dir, 'routes.json'),
    connectionsFile: join(dir, 'connections.json'),
    ports: [{ name: 'web', hostPort: 0 }],
  };
  writeJsonAtomic(join(dir, 'spec.json'), spec);
  const identity: ProcessIdentity = spawnNodeScript(
    'forwarder',
    join(dir, 'spec.json'),
    join(dir, 'forwarder.log'),
    dir,
  );
  cleanups.push(async () => {
    signalIdentified(identity, 'SIGTERM');
    // It may still be writing connections.json: let it go before its directory does.
    for (let waited = 0; isAlive(identity) && waited < 5000; waited += 25) await sleep(25);
    rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  });
  const deadline = Date.now() + 15_000;
  for (;;) {
    const state = readJson<ForwarderState>(spec.stateFile);
    if (state?.token === spec.token && state.error === undefined && state.ports.web !== undefined) {
      const port = state.ports.web;
      return {
        port,
        routesFile: spec.routesFile,
        route: (targets) => {
          const routes: ForwarderRoutes<number | ForwarderTarget> = { instance: `i${Date.now()}`, targets };
          writeJsonAtomic(spec.routesFile, routes);
        },
        open: () => readJson<ForwarderConnections>(join(dir, 'connections.json'))?.open ?? {},
      };
    }
    if (Date.now() > deadline) {
      throw new Error(`the forwarder did not start: ${readFileSync(join(dir, 'forwarder.log'), 'utf8')}`);
    }
    await sleep(25);
  }
}

/** An HTTP upstream answering `<name> <method> <url> <body>`; `/slow` answers after 2 s. */
async function startUpstream(name: string): Promise<{
  port: number;
  server: Server;
  rudeClose(): void;
  /** Connections accepted so far, and open now. */
  accepted(): number;
  open(): number;
}> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createHttpServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => parts.push(chunk));
    req.on('end', () => {
      const answer = (): void => {
        res.setHeader('X-Upstream-Name', name);
        res.setHeader('X-Seen-Headers', req.rawHeaders.filter((_, index) => index % 2 === 0).join(','));
        res.end(`${name} ${req.method} ${req.url} ${Buffer.concat(parts).toString()}`);
      };
      if (req.url === '/slow') setTimeout(answer, 2000);
      else answer();
    });
  });
  server.on('connection', (socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // Echo after 101, for the upgrade test.
  server.on('upgrade', (_req, socket: Socket, head: Buffer) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: paved-test\r\nConnection: Upgrade\r\n\r\n');
    if (head.length > 0) socket.write(head);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const rudeClose = (): void => {
    server.closeAllConnections();
    for (const socket of sockets) socket.destroy();
    server.close();
  };
  cleanups.push(rudeClose);
  return {
    port: (server.address() as { port: number }).port,
    server,
    rudeClose,
    accepted: () => accepted,
    open: () => sockets.size,
  };
}

/** Writes `pieces` one by one (a pause between them) and collects all that comes back until close. */
async function exchange(port: number, pieces: string[], pauseMs = 40, untilMs = 2000): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  const closed = new Promise((resolve) => socket.once('close', resolve));
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  for (const piece of pieces) {
    socket.write(piece);
    await sleep(pauseMs);
  }
  await Promise.race([closed, sleep(untilMs)]);
  socket.destroy();
  return received;
}

function get(
  port: number,
  path: string,
  method = 'GET',
  body?: string,
): Promise<{ status: number; body: string; response: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, response }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the port forwarder', () => {
  it('moves kept-alive HTTP clients to the new instance at their next request, and drains the old one', async () => {
    const forwarder = await startForwarder();
    const a = await startUpstream('A');
    const b = await startUpstream('B');
    forwarder.route({ web: a.port });

    // Steady load over kept-alive connections (fetch's pool), 25 requests per second.
    const results: { at: number; ok: boolean; body: string }[] = [];
    const pending: Promise<void>[] = [];
    let loading = true;
    const load = (async () => {
      while (loading) {
        pending.push(
          fetch(`http://127.0.0.1:${forwarder.port}/fast`)
            .then(async (response) => {
              results.push({ at: Date.now(), ok: response.ok, body: await response.text() });
            })
            .catch((error: unknown) => {
              results.push({ at: Date.now(), ok: false, body: String(error) });
            }),
        );
        await sleep(40);
      }
    })();
    await sleep(1000);
    const slow = fetch(`http://127.0.0.1:${forwarder.port}/slow`).then(
      (response) => response.text(),
      (error: unknown) => `failed: ${String(error)}`,
    );
    await sleep(200);

    const switchedAt = Date.now();
    forwarder.route({ web: b.port });
    // As the runtimes do: trust the counts only once a connection picked up just before the switch
    // is in them; then wait for A to have nothing in flight (the slow request), within 8 s.
    await sleep(100);
    const inFlightOnA = forwarder.open()[targetKey(a.port)];
    while ((forwarder.open()[targetKey(a.port)] ?? 0) > 0 && Date.now() - switchedAt < 8000) await sleep(50);
    const drainedAfter = Date.now() - switchedAt;
    a.rudeClose();

    await sleep(1000);
    loading = false;
    await load;
    await Promise.all(pending);

    expect(results.filter((result) => !result.ok)).toEqual([]);
    expect(await slow).toBe('A GET /slow ');
    // The drain ended with the slow request, not at the deadline: the clients' idle kept-alive
    // connections are tied to no instance, so only the slow request was in flight on A.
    expect(drainedAfter).toBeGreaterThan(1500);
    expect(drainedAfter).toBeLessThan(8000);
    expect(inFlightOnA).toBe(1);
    expect(results.length).toBeGreaterThan(40);
    const after = results.filter((result) => result.at > switchedAt + 200);
    expect(after.length).toBeGreaterThan(20);
    expect(after.every((result) => result.body === 'B GET /fast ')).toBe(true);
  });

  it('relays a body sent in pieces, pipelined requests and header case; 502 naming the port without a route', async () => {
    const forwarder = await startForwarder();
    const upstream = await startUpstream('A');

    const noRoute = await get(forwarder.port, '/');
    expect(noRoute.status).toBe(502);
    expect(noRoute.body).toContain('"web"');

    forwarder.route({ web: upstream.port });
    // The first piece ends mid-body; the rest arrives later, in two more pieces.
    const pieces = await exchange(forwarder.port, [
      'POST /upload HTTP/1.1\r\nHost: x\r\nX-Mixed-Case: 1\r\nKeep-Alive: timeout=9\r\nContent-Length: 10\r\nConnection: close\r\n\r\nab',
      'cdef',
      'ghij',
    ]);
    expect(pieces).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(pieces).toContain('\r\nX-Upstream-Name: A\r\n');
    // Header case kept both ways; the client's hop-by-hop headers stay on its hop.
    expect(pieces).toContain('\r\nX-Seen-Headers: Host,X-Mixed-Case,Content-Length,Connection\r\n');
    expect(pieces).toContain('A POST /upload abcdefghij');

    // A chunked body, also in pieces, and a method Node would not frame a body for by itself.
    const chunked = await exchange(forwarder.port, [
      'DELETE /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nxyz\r\n',
      '2\r\n12\r\n',
      '0\r\n\r\n',
    ]);
    expect(chunked).toContain('A DELETE /chunked xyz12');

    // Three requests in one write (and the first bytes alone in an earlier one), answered in order.
    const pipelined = await exchange(forwarder.port, [
      'G',
      'ET /1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    ]);
    const answers = [...pipelined.matchAll(/A (GET|POST) (\/\d) ([a-z]*)/g)].map((match) => match[0]);
    expect(answers).toEqual(['A GET /1 ', 'A POST /2 abc', 'A GET /3 ']);

    upstream.rudeClose();
    const gone = await get(forwarder.port, '/');
    expect(gone.status).toBe(502);
    expect(gone.body).toContain('"web"');
    expect(gone.body).toContain(`127.0.0.1:${upstream.port}`);
  });

  it('relays an upgrade raw both ways and counts the tunnel while it is open', async () => {
    const forwarder = await startForwarder();
    const upstream = await startUpstream('A');
    forwarder.route({ web: upstream.port });
    const socket = connect(forwarder.port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.write('GET /tunnel HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: paved-test\r\n\r\n');
    await expect.poll(() => received, { timeout: 5000 }).toMatch(/^HTTP\/1\.1 101 /);
    socket.write('ping');
    await expect.poll(() => received, { timeout: 5000 }).toMatch(/\r\n\r\nping$/);
    await sleep(100);
    expect(forwarder.open()).toEqual({ [String(upstream.port)]: 1 });
    socket.destroy();
    await expect.poll(() => forwarder.open(), { timeout: 5000 }).toEqual({});
  });

  it('relays plain TCP as before, server-first protocols included', async () => {
    const forwarder = await startForwarder();
    const echo = createNetServer((socket) => socket.pipe(socket));
    const greeter = createNetServer((socket) => {
      socket.write('220 hello\r\n');
      socket.pipe(socket);
    });
    for (const server of [echo, greeter]) {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => void server.close());
    }
    const echoPort = (echo.address() as { port: number }).port;
    const greeterPort = (greeter.address() as { port: number }).port;

    forwarder.route({ web: echoPort });
    const socket = connect(forwarder.port, '127.0.0.1');
    cleanups.push(() => void socket.destroy());
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    socket.write('\u0000binary hello');
    await expect.poll(() => received, { timeout: 5000 }).toBe('\u0000binary hello');
    await sleep(100);
    expect(forwarder.open()).toEqual({ [String(echoPort)]: 1 });

    // The client waits for the server to speak: after the sniff timeout it is relayed as TCP.
    forwarder.route({ web: greeterPort });
    const greeted = connect(forwarder.port, '127.0.0.1');
    cleanups.push(() => void greeted.destroy());
    let greeting = '';
    greeted.on('data', (chunk: Buffer) => (greeting += chunk.toString()));
    await expect.poll(() => greeting, { timeout: 5000 }).toBe('220 hello\r\n');
    greeted.write('QUIT\r\n');
    await expect.poll(() => greeting, { timeout: 5000 }).toBe('220 hello\r\nQUIT\r\n');
    // The first connection stays with the echo server it was made to.
    await expect
      .poll(() => forwarder.open(), { timeout: 5000 })
      .toEqual({
        [String(echoPort)]: 1,
        [String(greeterPort)]: 1,
      });
  });

  it('takes targets as host and port, keyed host:port in connections.json', async () => {
    const forwarder = await startForwarder();
    const upstream = await startUpstream('A');
    const target = { host: '127.0.0.1', port: upstream.port };
    forwarder.route({ web: target });
    expect((await get(forwarder.port, '/')).body).toBe('A GET / ');
    const slow = get(forwarder.port, '/slow');
    await sleep(300);
    expect(forwarder.open()).toEqual({ [`127.0.0.1:${upstream.port}`]: 1 });
    expect(targetKey(target)).toBe(`127.0.0.1:${upstream.port}`);
    expect((await slow).body).toBe('A GET /slow ');
    await expect.poll(() => forwarder.open(), { timeout: 5000 }).toEqual({});

    // A client that gives up on its request takes it off the count at once.
    const impatient = connect(forwarder.port, '127.0.0.1');
    impatient.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    await expect
      .poll(() => forwarder.open(), { timeout: 1000 })
      .toEqual({ [`127.0.0.1:${upstream.port}`]: 1 });
    const gaveUpAt = Date.now();
    impatient.destroy();
    await expect.poll(() => forwarder.open(), { timeout: 1000 }).toEqual({});
    expect(Date.now() - gaveUpAt).toBeLessThan(1000);
  });

  it('keeps the previous routes when routes.json is read half written', async () => {
    const forwarder = await startForwarder();
    const a = await startUpstream('A');
    const b = await startUpstream('B');
    forwarder.route({ web: a.port });
    expect((await get(forwarder.port, '/')).body).toBe('A GET / ');
    // Replaced in place, not renamed: a reader may see the first half only.
    writeFileSync(forwarder.routesFile, `{"instance":"b","targets":{"web":${b.port}`);
    expect((await get(forwarder.port, '/')).body).toBe('A GET / ');
    writeFileSync(forwarder.routesFile, `{"instance":"b","targets":{"web":${b.port}}}`);
    expect((await get(forwarder.port, '/')).body).toBe('B GET / ');
  });

  it('reuses kept-alive upstream connections for idempotent requests, not for others', async () => {
    const forwarder = await startForwarder();
    const a = await startUpstream('A');
    forwarder.route({ web: a.port });

    // Every client request on a connection of its own: the relay's side is what is counted.
    for (let index = 0; index < 20; index += 1) {
      const answer = await get(forwarder.port, `/fast/${index}`);
      expect(answer.body).toBe(`A GET /fast/${index} `);
    }
    expect(a.accepted()).toBe(1);
    // Concurrent requests open what they need beside the kept one.
    const burst = await Promise.all(Array.from({ length: 5 }, () => get(forwarder.port, '/burst')));
    expect(burst.map((answer) => answer.body)).toEqual(Array(5).fill('A GET /burst '));
    const afterBurst = a.accepted();
    expect(afterBurst).toBeLessThanOrEqual(5);
    // A request with a body could not be sent twice: it gets a connection of its own, as does a
    // POST without one.
    expect((await get(forwarder.port, '/orders', 'PUT', 'x')).body).toBe('A PUT /orders x');
    expect((await get(forwarder.port, '/orders', 'POST')).body).toBe('A POST /orders ');
    expect(a.accepted()).toBe(afterBurst + 2);
  });

  it('sends an idempotent request again on a new connection when the instance closed the reused one', async () => {
    const forwarder = await startForwarder();
    // Resets a kept connection at its second request: an instance closing an idle connection as
    // it is being reused.
    const upstream = await startResettingUpstream();
    cleanups.push(() => upstream.close());
    forwarder.route({ web: upstream.port });

    for (let index = 0; index < 5; index += 1) {
      const answer = await get(forwarder.port, '/');
      expect(answer).toMatchObject({ status: 200, body: 'ok' });
    }
    // Requests 2 and 4 found the connection kept from 1 and 3 reset, and went again on a new one
    // of their own (closed after it); requests 3 and 5 found none kept and opened one.
    expect(upstream.resets()).toBe(2);
    expect(upstream.accepted()).toBe(5);
  });

  it("lets the old instance's kept connections go after a switch once nothing is in flight on them", async () => {
    const forwarder = await startForwarder();
    const a = await startUpstream('A');
    const b = await startUpstream('B');
    forwarder.route({ web: a.port });
    await get(forwarder.port, '/one');
    await sleep(50);
    expect(a.open()).toBe(1);

    forwarder.route({ web: b.port });
    expect((await get(forwarder.port, '/two')).body).toBe('B GET /two ');
    const deadline = Date.now() + 2000;
    while (a.open() > 0 && Date.now() < deadline) await sleep(25);
    // Well before the 4 s idle timeout: closed because A is no longer routed to.
    expect(a.open()).toBe(0);
    expect(b.open()).toBe(1);
  });
});
