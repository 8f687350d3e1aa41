// A gateway of its own (issue 7, point 6): `paved gateway` runs as a separate process reading
// routes from the store, so restarting the API server — stopped cleanly, or killed — drops no app
// traffic. A steady load of more than 20 requests per second runs through the gateway to an app on
// the process target while the server is restarted twice; not one request may fail.
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
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

const SERVER_JS = `
const { createServer } = require('node:http');
createServer((request, response) => response.end('hello')).listen(Number(process.env.PORT), '127.0.0.1');
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
    command: ['node', 'server.js']
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

let root: string | undefined;
let server: PavedServerProcess | undefined;
let gateway: ChildProcess | undefined;
let env: NodeJS.ProcessEnv = {};
const app = 'gw';

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

it('keeps serving apps while the API server restarts, cleanly and after a kill', async () => {
  assertBuilt();
  root = await mkdtemp(join(tmpdir(), 'paved-e2e-gateway-'));
  const dataDir = join(root, 'data');
  await mkdir(join(root, 'home'));
  await mkdir(join(root, 'web'));
  await writeFile(join(root, 'web', 'server.js'), SERVER_JS);
  await writeFile(join(root, 'web', 'score.yaml'), SCORE);
  const base = isolatedEnv(join(root, 'home'));
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
    expect(server.output()).toContain(
      `Routes are served by "paved gateway" on http://127.0.0.1:${gatewayPort}`,
    );
    env = { ...base, PAVED_URL: server.url, PAVED_DATA_DIR: dataDir };
  };

  await startApi();
  const { url: gatewayUrl } = await startPavedGateway(
    ['--port', gatewayPort, '--data-dir', dataDir],
    base,
    (child) => (gateway = child),
  );
  expect(gatewayUrl).toBe(`http://127.0.0.1:${gatewayPort}`);
  await ok('apps', 'create', app);
  await ok('envs', 'create', app, 'dev', '--type', 'development');
  await ok('deploy', app, 'dev', 'web/score.yaml', '--wait');
  const status = JSON.parse((await ok('status', app, 'dev', '-o', 'json')).stdout) as {
    workloads: { endpoints: string[] }[];
  };
  // The endpoint the server shows is the separate gateway's.
  expect(status.workloads[0]?.endpoints[0]).toBe(`http://web-dev-${app}.localhost:${gatewayPort}/`);

  const load = new GatewayLoad(gatewayUrl, `web-dev-${app}.localhost`);
  // The first answer comes as soon as the gateway read the route (a miss reads routes again).
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
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await load.stop();

  const whileRestarting = load.steady().filter((outcome) => outcome.started >= down);
  expect(load.steady().length).toBeGreaterThan(answeredBefore);
  expect(whileRestarting.length).toBeGreaterThan(40);
  expect(load.rate()).toBeGreaterThanOrEqual(20);
  expect(load.failures()).toEqual([]);
  expect(load.steady().every((outcome) => outcome.body === 'hello')).toBe(true);
}, 120_000);
