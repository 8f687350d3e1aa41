#!/usr/bin/env node
// `npm start`: runs `paved server` and, as a process of its own, `paved gateway` with the
// defaults of the contracts, waits until both answer, deploys examples/shop to the environment
// shop/dev with the real CLI, and prints the URL where the shop answers. Stops both on Ctrl-C
// (deployed workloads keep running, as after any server stop; `npx paved envs delete shop dev`
// removes them). The server can be restarted on its own meanwhile: the gateway keeps serving.
//
// Flags are passed to `paved server` (e.g. `npm start -- --port 0`); --gateway-port, --data-dir
// and --database-url go to `paved gateway` too (--gateway-port 0: a free port, chosen here).
// PAVED_START_NO_EXAMPLE=1 only starts the server and the gateway.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = `${root}packages/cli/bin/paved.js`;

if (!existsSync(`${root}packages/cli/dist/main.js`)) {
  console.error('Paved is not built yet: run "npm ci" (or "npm run build") first.');
  process.exit(1);
}

/** The value of `--name VALUE` or `--name=VALUE` in args, and args without it. */
function takeFlag(args, name) {
  const rest = [];
  let value;
  for (let index = 0; index < args.length; index++) {
    const arg = args[index];
    if (arg === name && index + 1 < args.length) value = args[++index];
    else if (arg.startsWith(`${name}=`)) value = arg.slice(name.length + 1);
    else rest.push(arg);
  }
  return { value, rest };
}

/** A port nothing listens on now: the gateway's, when asked for 0 (the server must know it). */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

const { value: gatewayPortFlag, rest: serverArgs } = takeFlag(process.argv.slice(2), '--gateway-port');
let gatewayPort = gatewayPortFlag ?? process.env.PAVED_GATEWAY_PORT ?? '7080';
if (gatewayPort === '0') gatewayPort = String(await freePort());
const gatewayArgs = ['--port', gatewayPort];
for (const name of ['--data-dir', '--database-url']) {
  const { value } = takeFlag(serverArgs, name);
  if (value !== undefined) gatewayArgs.push(name, value);
}

/** Starts `paved <args>`, echoing its output; calls `onLine(match)` once `pattern` shows. */
function start(args, pattern, onMatch) {
  const child = spawn(process.execPath, [cli, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let buffered = '';
  let matched = false;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    buffered += chunk;
    const match = pattern.exec(buffered);
    if (!matched && match) {
      matched = true;
      onMatch(match);
    }
  });
  return child;
}

let gateway;
// The server first: its first start creates the store the gateway reads.
const server = start(
  ['server', '--separate-gateway', '--gateway-port', gatewayPort, ...serverArgs],
  /Paved is listening on (http:\/\/\S+)/,
  (listening) => {
    gateway = start(['gateway', ...gatewayArgs], /Gateway on (http:\/\/\S+)/, () =>
      setTimeout(() => void afterStart(listening[1]), 50),
    );
    gateway.on('exit', (code) => {
      if (server.exitCode === null) {
        console.error(`paved gateway stopped (exit code ${code}); stopping the server`);
        server.kill('SIGTERM');
      }
    });
  },
);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.kill(signal);
    gateway?.kill(signal);
  });
}
server.on('exit', (code, signal) => {
  const exit = () => process.exit(code ?? (signal ? 0 : 1));
  if (gateway === undefined || gateway.exitCode !== null) exit();
  else {
    gateway.once('exit', exit);
    gateway.kill('SIGTERM');
  }
});

/** Runs the CLI against the new server; returns its exit code and output. */
function paved(url, ...args) {
  const result = spawnSync(process.execPath, [cli, '--url', url, ...args], { cwd: root, encoding: 'utf8' });
  return { code: result.status ?? 70, stdout: result.stdout, stderr: result.stderr };
}

function step(url, args, { okCodes = [0] } = {}) {
  const result = paved(url, ...args);
  if (!okCodes.includes(result.code)) {
    process.stderr.write(result.stderr || result.stdout);
    throw new Error(`"paved ${args.join(' ')}" failed with exit code ${result.code}`);
  }
  return result;
}

async function afterStart(url) {
  if (process.env.PAVED_START_NO_EXAMPLE === '1') {
    console.log(`\nPaved is up at ${url}. In another terminal: npx paved whoami`);
    return;
  }
  try {
    console.log('\nDeploying examples/shop to shop/dev …');
    const conflictIsFine = { okCodes: [0, 5] };
    step(url, ['apps', 'create', 'shop'], conflictIsFine);
    step(url, ['envs', 'create', 'shop', 'dev', '--type', 'development'], conflictIsFine);
    step(url, ['values', 'set', 'shop', 'dev', 'CURRENCY=EUR']);
    const files = ['frontend', 'catalog', 'orders'].map((name) => `examples/shop/${name}/score.yaml`);
    const deploy = paved(url, 'deploy', 'shop', 'dev', ...files, '--wait', '--message', 'npm start');
    process.stdout.write(deploy.stderr + deploy.stdout);
    if (deploy.code !== 0) {
      throw new Error(`the deployment failed (exit code ${deploy.code})`);
    }
    const status = JSON.parse(step(url, ['status', 'shop', 'dev', '-o', 'json']).stdout);
    const endpoints = status.workloads.flatMap((workload) => workload.endpoints ?? []);
    console.log(`\nPaved is up at ${url}; the shop answers at ${endpoints.join(', ')}`);
    console.log('  (curl and browsers send *.localhost to this machine by themselves)');
    console.log('In another terminal: npx paved status shop dev · npx paved logs shop dev frontend --follow');
  } catch (error) {
    console.error(`\nPaved is up at ${url}, but deploying the example failed: ${error.message}`);
  }
}
