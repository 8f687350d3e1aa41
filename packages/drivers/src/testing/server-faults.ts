/**
 * The faults the shared-server drivers' fault tests (`*-faults.int.test.ts`) inject, and the way
 * they check what the user is told. Test-only.
 *
 * - `closedPort`: a port nothing listens on (the admin server is down or the definition names the
 *   wrong port).
 * - `startCuttingProxy`: a TCP proxy in front of a real server that drops the connection the
 *   moment the driver sends a chosen statement or request, before the server sees it: a crash
 *   halfway through provisioning, at a step the test picks, without a hook in the driver.
 * - `provisionThroughDefinition`: one resource provisioned by the deployment's own provisioning
 *   stage with a named definition, so a failure is the error a user sees, definition included.
 */
import { createServer, connect, type Socket } from 'node:net';
import {
  buildResourceGraph,
  PavedError,
  provisionGraph,
  requestResources,
  resolveDefinitions,
  type ProvisionedResource,
  type ResourceDriver,
  type ScoreWorkload,
} from '@paved/core';
import { expect } from 'vitest';
import { conformanceContext } from './describe-resource-driver.js';

/** A port on 127.0.0.1 that was free a moment ago and that nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port was assigned');
  return address.port;
}

export interface CuttingProxy {
  /** Where the driver connects instead of the server. */
  readonly port: number;
  /** How many connections were cut so far. */
  readonly cuts: number;
  /**
   * Cuts the next connection whose client sends `marker` (plain bytes: SQL text, a RESP command
   * name, an HTTP request line), dropping what carried it. `onCut` runs first, synchronously, so
   * a test can abort the driver's signal as a crashing server would stop it. Once only.
   */
  cutAt(marker: string, onCut?: () => void): void;
  close(): Promise<void>;
}

/**
 * @example
 * const proxy = await startCuttingProxy(5432);
 * proxy.cutAt('CREATE DATABASE', () => controller.abort(new Error('crash')));
 * await driver.provision({ ...request, inputs: { values: { host: '127.0.0.1', port: proxy.port } } }, controller.signal);
 */
export async function startCuttingProxy(
  upstreamPort: number,
  upstreamHost = '127.0.0.1',
): Promise<CuttingProxy> {
  let armed: { marker: string; onCut: (() => void) | undefined } | undefined;
  let cuts = 0;
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  };
  const server = createServer((client) => {
    track(client);
    const upstream = connect(upstreamPort, upstreamHost);
    track(upstream);
    // The marker may straddle two chunks: keep the end of the previous one.
    let tail = '';
    client.on('data', (chunk: Buffer) => {
      const text = tail + chunk.toString('latin1');
      if (armed !== undefined && text.includes(armed.marker)) {
        const { onCut } = armed;
        armed = undefined;
        cuts += 1;
        onCut?.();
        client.destroy();
        upstream.destroy();
        return;
      }
      tail = text.slice(-256);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no port');
  return {
    port: address.port,
    get cuts() {
      return cuts;
    },
    cutAt(marker, onCut) {
      armed = { marker, onCut };
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface FaultDefinition {
  name: string;
  type: string;
  driver: ResourceDriver;
  inputs: { values: Record<string, unknown>; secrets: Record<string, string> };
}

/**
 * Provisions the resource `type` with id `id` of `app` (environment `dev`) through the
 * deployment's provisioning stage, matched to `definition` alone. Its uid is `<type>.default#<id>`,
 * the one `sharedServerRequests` uses, so the same names come out of both.
 */
export async function provisionThroughDefinition(
  definition: FaultDefinition,
  app: string,
  id: string,
  signal: AbortSignal = new AbortController().signal,
): Promise<ProvisionedResource> {
  const workload: ScoreWorkload = {
    apiVersion: 'score.dev/v1b1',
    metadata: { name: 'orders' },
    containers: { main: { image: 'orders:1' } },
    resources: { it: { type: definition.type, id } },
  };
  const { workload: _w, dependencies: _d, ...context } = conformanceContext({ app });
  const requests = requestResources([workload]);
  const { definitions } = resolveDefinitions(
    [
      {
        name: definition.name,
        version: 1,
        type: definition.type,
        driver: definition.driver.id,
        inputs: definition.inputs,
        criteria: [],
      },
    ],
    requests.nodes,
    context,
  );
  const graph = buildResourceGraph(requests, [workload], { definitions });
  const { resources } = await provisionGraph(graph, {
    drivers: new Map([[definition.driver.id, definition.driver]]),
    definitions,
    context,
    signal,
  });
  const provisioned = resources.get(`${definition.type}.default#${id}`);
  if (provisioned === undefined) throw new Error(`resource "${id}" was not provisioned`);
  return provisioned;
}

/**
 * What a failure must say: DRIVER_FAILED, the definition, the server (`host:port`) and what to do
 * (`advice`), and none of `secrets` anywhere in the message, its cause or its details.
 */
export function expectClearFailure(
  error: unknown,
  expected: { definition: string; server: string; advice: RegExp; secrets: readonly string[] },
): void {
  expect(error).toBeInstanceOf(PavedError);
  const failure = error as PavedError;
  expect(failure.code).toBe('DRIVER_FAILED');
  expect(failure.message).toContain(`definition "${expected.definition}"`);
  expect(failure.message).toContain(expected.server);
  expect(failure.message).toMatch(expected.advice);
  const everything = JSON.stringify({
    message: failure.message,
    cause: String(failure.cause),
    innerCause: String((failure.cause as { cause?: unknown } | undefined)?.cause),
    details: failure.details,
  });
  for (const secret of expected.secrets) expect(everything).not.toContain(secret);
}
