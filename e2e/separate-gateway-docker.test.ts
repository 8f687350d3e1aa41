// A gateway of its own (issue 7, point 6) with an app on the docker target: the stable host port of
// each workload port is a detached forwarder process, not part of the API server, so restarting
// the server — stopped cleanly, or killed — drops no app traffic there either. A steady load of
// more than 20 requests per second runs through `paved gateway` to a container while the server is
// restarted twice; not one request may fail. The restarted server takes the same forwarder
// processes over, and deleting the environment leaves none of them running.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { forwarderProcesses } from '../packages/runtimes/src/docker/testing/forwarder-processes.js';
import { GatewayLoad } from '../packages/server/src/testing/gateway-load.js';
import {
  assertBuilt,
  isolatedEnv,
  runPaved,
  startPavedServer,
  type PavedRun,
  type PavedServerProcess,
} from './helpers/paved-cli.js';
import { freePort, startPavedGateway } from './helpers/paved-gateway.js';

/** Podman's Docker API, started by scripts/setup-test-env.sh. */
const DOCKER_HOST = process.env.PAVED_TEST_DOCKER_HOST ?? 'unix:///run/paved-test/podman.sock';

const SERVER_JS = `
const { createServer } = require('node:http');
createServer((request, response) => response.end('hello')).listen(8080, '0.0.0.0');
`;

const CONTAINERFILE = `FROM localhost/node-local:20
WORKDIR /app
COPY server.js /app/server.js
CMD ["node", "server.js"]
`;

const SCORE = `apiVersion: score.dev/v1b1
metadata:
  name: web
service:
  ports:
    http:
      port: 8080
containers:
  main:
    image: .
    readinessProbe:
      httpGet:
        path: /
        port: 8080
resources:
  dns:
    type: dns
  route:
    type: route
    params:
      host: \${resources.dns.host}
      path: /
      port: http
`;

/** An app name of this run's own: the engine is shared with other test files and runs. */
const app = `gwd-${randomBytes(3).toString('hex')}`;
let root: string | undefined;
let server: PavedServerProcess | undefined;
let gateway: ChildProcess | undefined;
let env: NodeJS.ProcessEnv = {};

afterAll(async () => {
  if (server !== undefined) {
    await runPaved(['envs', 'delete', app, 'dev'], { env }).catch(() => undefined);
    await server.stop();
  }
  gateway?.kill('SIGTERM');
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

async function ok(...args: string[]): Promise<PavedRun> {
  const run = await runPaved(args, { env, cwd: root! });
  expect(run.code, `paved ${args.join(' ')}\n${run.stdout}\n${run.stderr}`).toBe(0);
  return run;
}

it('keeps serving a docker-target app while the API server restarts, and stops its forwarders with the environment', async () => {
  assertBuilt();
  root = await mkdtemp(join(tmpdir(), 'paved-e2e-gateway-docker-'));
  const dataDir = join(root, 'data');
  const forwarders = join(dataDir, 'runtime', 'docker');
  await mkdir(join(root, 'home'));
  await mkdir(join(root, 'web'));
  await writeFile(join(root, 'web', 'server.js'), SERVER_JS);
  await writeFile(join(root, 'web', 'Containerfile'), CONTAINERFILE);
  await writeFile(join(root, 'web', 'score.yaml'), SCORE);
  const base = isolatedEnv(join(root, 'home'), { DOCKER_HOST });
  const gatewayPort = String(await freePort());
  const serverArgs = [
    '--port',
    '0',
    '--gateway-port',
    gatewayPort,
    '--separate-gateway',
    '--data-dir',
    dataDir,
  ];
  const startApi = async (): Promise<void> => {
    server = await startPavedServer(serverArgs, { env: base });
    env = { ...base, PAVED_URL: server.url, PAVED_DATA_DIR: dataDir };
  };

  await startApi();
  const { url: gatewayUrl } = await startPavedGateway(
    ['--port', gatewayPort, '--data-dir', dataDir],
    base,
    (child) => (gateway = child),
  );
  await ok('apps', 'create', app);
  await ok('envs', 'create', app, 'dev', '--type', 'development', '--target', 'docker');
  await ok('deploy', app, 'dev', 'web/score.yaml', '--wait');
  const running = forwarderProcesses(forwarders).sort();
  expect(running).toHaveLength(1);

  const load = new GatewayLoad(gatewayUrl, `web-dev-${app}.localhost`);
  load.start(25);
  await load.until('hello', 500, 10_000);

  // A clean restart: SIGTERM, then the same server again.
  const answeredBefore = load.steady().length;
  await server!.stop();
  const down = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await startApi();
  // A crash: SIGKILL, down for a second, started again.
  const killed = new Promise((resolve) => server!.child.once('exit', resolve));
  server!.child.kill('SIGKILL');
  await killed;
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await startApi();
  // The restarted server looks at its docker target (and takes the forwarders over) on first use.
  await ok('status', app, 'dev');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await load.stop();

  const whileRestarting = load.steady().filter((outcome) => outcome.started >= down);
  expect(load.steady().length).toBeGreaterThan(answeredBefore);
  expect(whileRestarting.length).toBeGreaterThan(40);
  expect(load.rate()).toBeGreaterThanOrEqual(20);
  expect(load.failures()).toEqual([]);
  expect(load.steady().every((outcome) => outcome.body === 'hello')).toBe(true);
  // Taken over, not replaced: the same forwarder process relayed all along.
  expect(forwarderProcesses(forwarders).sort()).toEqual(running);

  await ok('envs', 'delete', app, 'dev');
  expect(forwarderProcesses(forwarders)).toEqual([]);
}, 240_000);
