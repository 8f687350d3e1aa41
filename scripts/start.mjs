#!/usr/bin/env node
// `npm start`: runs `paved server` with the defaults of the contracts, waits until it answers,
// deploys examples/shop to the environment shop/dev with the real CLI, and prints the URL where
// the shop answers. Stops the server on Ctrl-C (deployed workloads keep running, as after any
// server stop; `npx paved envs delete shop dev` removes them).
//
// Flags are passed to `paved server` (e.g. `npm start -- --port 0`). PAVED_START_NO_EXAMPLE=1
// only starts the server.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = `${root}packages/cli/bin/paved.js`;

if (!existsSync(`${root}packages/cli/dist/main.js`)) {
  console.error('Paved is not built yet: run "npm ci" (or "npm run build") first.');
  process.exit(1);
}

const server = spawn(process.execPath, [cli, 'server', ...process.argv.slice(2)], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
});

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.kill(signal));
server.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));

let buffered = '';
let started = false;
server.stdout.setEncoding('utf8');
server.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  buffered += chunk;
  const listening = /Paved is listening on (http:\/\/\S+)/.exec(buffered);
  if (!started && listening) {
    started = true;
    setTimeout(() => void afterStart(listening[1]), 50);
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
