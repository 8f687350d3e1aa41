/**
 * Workload-to-workload traffic through a replace on the docker target: a client workload calls
 * `api` by its name in the environment's network over kept-alive connections, at a steady rate
 * and with a slow request always in flight, while `api` is redeployed twice. The api server exits
 * the moment it gets SIGTERM (kept-alive connections and all), so only the platform's draining
 * stands between the client and a failed call. Real Podman, real containers, real DNS.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, expect, it } from 'vitest';
import type { EnvironmentRef, RenderedContainer, RenderedWorkload } from '@paved/core';
import { LABEL } from './docker-labels.js';
import { DockerRuntime, type DockerRuntimeOptions } from './docker-runtime.js';
import { forwarderProcesses } from './testing/forwarder-processes.js';
import {
  contextHash,
  NODE_IMAGE,
  ownedObjects,
  TEST_DOCKER_HOST,
  testDocker,
  uniqueTargetName,
} from './testing/test-engine.js';

const docker = testDocker();
const stateRoot = mkdtempSync(join(tmpdir(), 'paved-docker-address-'));
afterAll(() => rmSync(stateRoot, { recursive: true, force: true }));

const API_SERVER = `import { createServer } from 'node:http';
const version = process.env.VERSION ?? '';
createServer((request, response) => {
  response.setHeader('content-type', 'application/json');
  if (request.url === '/slow') {
    setTimeout(() => response.end(JSON.stringify({ version, slow: true })), 2000);
    return;
  }
  response.end(JSON.stringify({ version }));
}).listen(8080);
// Rude on purpose: no graceful close, so a request still sent to a stopping instance fails.
process.on('SIGTERM', () => process.exit(0));
`;

/**
 * Runs in the client container until /tmp/stop exists: one loop of quick requests (every 40 ms,
 * 25/s) and one of 2 s requests, both over fetch's kept-alive connections to http://api:8080 (the container port, which is what
 * `service-port` resources resolve to on container targets).
 */
const CLIENT_SCRIPT = `import { existsSync } from 'node:fs';
const result = { ok: 0, failed: 0, slowOk: 0, slowFailed: 0, versions: {}, errors: [] };
const stopAt = Date.now() + 180000;
const running = () => !existsSync('/tmp/stop') && Date.now() < stopAt;
async function call(path) {
  const answer = await fetch('http://api:8080' + path);
  const text = await answer.text();
  if (answer.status !== 200) throw new Error('status ' + answer.status + ': ' + text);
  return JSON.parse(text);
}
function failure(error) {
  return String(error.message) + (error.cause ? ' (' + (error.cause.code ?? error.cause.message) + ')' : '');
}
const quick = (async () => {
  while (running()) {
    const started = Date.now();
    try {
      const body = await call('/');
      result.ok += 1;
      result.versions[body.version] = (result.versions[body.version] ?? 0) + 1;
    } catch (error) {
      result.failed += 1;
      if (result.errors.length < 20) result.errors.push(failure(error));
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 40 - (Date.now() - started))));
  }
})();
const slow = (async () => {
  while (running()) {
    try {
      await call('/slow');
      result.slowOk += 1;
    } catch (error) {
      result.slowFailed += 1;
      if (result.errors.length < 20) result.errors.push('slow: ' + failure(error));
    }
  }
})();
await Promise.all([quick, slow]);
console.log(JSON.stringify(result));
`;

interface ClientResult {
  ok: number;
  failed: number;
  slowOk: number;
  slowFailed: number;
  versions: Record<string, number>;
  errors: string[];
}

it('keeps calls between workloads going through two replaces: zero failed, slow requests complete', async () => {
  const target = uniqueTargetName('address');
  const options: DockerRuntimeOptions = {
    name: target,
    stateDir: join(stateRoot, target),
    host: TEST_DOCKER_HOST,
    readinessTimeoutMs: 30_000,
    probeIntervalMs: 250,
    graceMs: 2000,
  };
  let runtime = new DockerRuntime(options);
  const env: EnvironmentRef = { app: uniqueTargetName('addr'), env: 'dev' };
  const dir = mkdtempSync(join(tmpdir(), 'paved-docker-address-context-'));
  writeFileSync(join(dir, 'server.mjs'), API_SERVER);
  writeFileSync(join(dir, 'client.mjs'), CLIENT_SCRIPT);
  writeFileSync(join(dir, 'Containerfile'), `FROM ${NODE_IMAGE}\nCOPY . /app\nWORKDIR /app\n`);
  const context = { dir, hash: contextHash(dir) };
  const container = (variables: Record<string, string>, command: string[]): RenderedContainer => ({
    image: '.',
    context,
    command,
    variables,
    secretVariables: [],
    files: [],
    volumes: [],
    before: {},
  });
  const api = (version: string, deployment: number): RenderedWorkload => ({
    name: 'api',
    deployment,
    specHash: `api-${version}`,
    containers: { main: container({ VERSION: version }, ['node', 'server.mjs']) },
    ports: { web: { port: 80, targetPort: 8080, protocol: 'TCP' } },
  });
  const client: RenderedWorkload = {
    name: 'client',
    deployment: 1,
    specHash: 'client',
    containers: { main: container({}, ['node', '-e', 'setInterval(() => {}, 1 << 30)']) },
    ports: {},
  };
  const deploy = async (workloads: RenderedWorkload[]): Promise<void> => {
    const result = await runtime.apply(
      await runtime.plan(env, workloads),
      () => undefined,
      new AbortController().signal,
    );
    expect(result.workloads.filter((outcome) => !outcome.ok)).toEqual([]);
  };
  try {
    await deploy([api('1', 1), client]);
    const clientId = (
      await docker.listContainers({
        filters: { label: [`${LABEL.target}=${target}`, `${LABEL.workload}=client`] },
      })
    )[0]?.Id;
    expect(clientId).toBeDefined();
    const clientContainer = docker.getContainer(clientId ?? '');

    // The client's load runs in the client container, against api's name in the network.
    const exec = await clientContainer.exec({
      Cmd: ['node', '/app/client.mjs'],
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({ hijack: true, stdin: false });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    docker.modem.demuxStream(stream, stdout, stderr);
    let output = '';
    let errorOutput = '';
    stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    stderr.on('data', (chunk: Buffer) => (errorOutput += chunk.toString()));
    const finished = new Promise<void>((resolve) => stream.on('end', resolve));

    await new Promise((resolve) => setTimeout(resolve, 3000));
    await deploy([api('2', 2), client]);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await deploy([api('3', 3), client]);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const stop = await clientContainer.exec({ Cmd: ['touch', '/tmp/stop'], AttachStdout: true });
    const stopped = await stop.start({ hijack: true, stdin: false });
    stopped.resume();
    await finished;

    expect(errorOutput).toBe('');
    const result = JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as ClientResult;
    expect(result.errors).toEqual([]);
    expect(result.failed).toBe(0);
    expect(result.slowFailed).toBe(0);
    // Both replaces happened under the load: every version answered, the last one last.
    expect(Object.keys(result.versions).sort()).toEqual(['1', '2', '3']);
    expect(result.ok).toBeGreaterThan(100);
    // Slow requests were in flight at the switches (one always is) and completed.
    expect(result.slowOk).toBeGreaterThanOrEqual(4);

    // The address outlives the runtime object: a new one takes it over rather than making another.
    const addressName = `paved-${env.app}-${env.env}-api-address`;
    const addressId = (await docker.getContainer(addressName).inspect()).Id;
    await runtime.close();
    runtime = new DockerRuntime(options);
    await runtime.init();
    expect((await docker.getContainer(addressName).inspect()).Id).toBe(addressId);
    await deploy([api('4', 4), client]);
    expect((await docker.getContainer(addressName).inspect()).Id).toBe(addressId);
  } finally {
    await runtime.destroy(env);
    await runtime.close();
    rmSync(dir, { recursive: true, force: true });
  }
  // Nothing of the target is left: the address went with the environment.
  expect(await ownedObjects(docker, target)).toEqual({
    containers: [],
    networks: [],
    volumes: [],
    images: [],
  });
  expect(forwarderProcesses(join(stateRoot, target))).toEqual([]);
}, 240_000);
