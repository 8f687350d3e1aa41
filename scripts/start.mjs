#!/usr/bin/env node
// `npm start`: runs `paved server` with the defaults of the contracts, waits until it answers and
// says where it is and how to talk to it. Stops the server on Ctrl-C.
import { spawn } from 'node:child_process';
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

let announced = false;
server.stdout.setEncoding('utf8');
server.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  if (!announced && /listening on (http:\/\/\S+)/.test(chunk)) {
    announced = true;
    const url = /listening on (http:\/\/\S+)/.exec(chunk)[1];
    console.log(`\nPaved is up at ${url}. In another terminal:\n  npx paved whoami\n  npx paved apps list\n`);
  }
});

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.kill(signal));
server.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
