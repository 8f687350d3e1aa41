// `paved gateway` as its own process, for the tests that restart the API server behind it, and
// requests through a gateway for the tests that count what it answers.
import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { PAVED_BIN, ROOT } from './paved-cli.js';

/** A TCP port free on 127.0.0.1 right now (the gateway's port must be known before it starts). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

export interface PavedGatewayProcess {
  child: ChildProcess;
  /** Where it listens, as it printed it. */
  url: string;
}

/**
 * Starts `paved gateway ARGS…` and resolves once it says where it listens. `onSpawn` receives the
 * child at once, so a test can stop it even when it never gets that far.
 */
export function startPavedGateway(
  args: string[],
  env: NodeJS.ProcessEnv,
  onSpawn: (child: ChildProcess) => void = () => undefined,
): Promise<PavedGatewayProcess> {
  const child = spawn(process.execPath, [PAVED_BIN, 'gateway', ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onSpawn(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const match = /^Gateway on (\S+)$/m.exec(output);
      if (match !== null) resolve({ child, url: match[1]! });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`paved gateway exited with ${code}:\n${output}`)));
  });
}

/**
 * GET `/` through a Paved gateway with `host` as the Host header: `"<status> <body>"`, or
 * `"error <code>"` when the request fails (never rejects, so a poll can wait for an answer).
 */
export function viaGateway(gatewayUrl: string, host: string): Promise<string> {
  const gateway = new URL(gatewayUrl);
  return new Promise((resolve) => {
    const request = httpRequest(
      { host: gateway.hostname, port: gateway.port, path: '/', headers: { host }, timeout: 5000 },
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        response.on('end', () => resolve(`${response.statusCode} ${body}`));
      },
    );
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', (error: NodeJS.ErrnoException) => resolve(`error ${error.code ?? error.message}`));
    request.end();
  });
}
