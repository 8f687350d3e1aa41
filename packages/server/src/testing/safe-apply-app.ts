/**
 * The app the safe-apply tests deploy on the process and docker targets (issue 7): one HTTP
 * workload whose behaviour the Score file's variables choose — its version, a failing readiness
 * probe, a crash at start — plus, optionally, a release-phase container (`migrate`) that the main
 * container waits on to `complete`. A volume at `/data` is shared by the containers and outlives
 * instances, so the tests can read what each release did: the schema the migration wrote, and
 * how many requests the old instance still had in flight when it got SIGTERM. Test-only.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { RunningServer } from '../start-server.js';

/**
 * The server. `$PAVED_ROOT` is where the process target puts absolute paths (unset in a
 * container, so `/data` there). No `${…}` anywhere: Score would read it as a placeholder.
 */
export const SERVER_JS = `
import { createServer } from 'node:http';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
const data = (process.env.PAVED_ROOT ?? '') + '/data';
const version = process.env.VERSION ?? '1';
if (process.env.CRASH === 'yes') {
  console.error('cannot reach the database: connection refused');
  process.exit(1);
}
const schemaAtStart = existsSync(data + '/schema') ? readFileSync(data + '/schema', 'utf8').trim() : 'none';
let inFlight = 0;
let sick = false;
const server = createServer((req, res) => {
  const url = req.url ?? '/';
  if (url === '/healthz') {
    res.statusCode = process.env.HEALTHY === 'no' ? 500 : 200;
    res.end(res.statusCode === 200 ? 'ok' : 'sick');
    return;
  }
  if (url === '/alive') {
    res.statusCode = sick ? 500 : 200;
    res.end(sick ? 'sick' : 'ok');
    return;
  }
  if (url === '/sicken') {
    sick = true;
    res.end('sick from now on');
    return;
  }
  if (url === '/schema-at-start') {
    res.end(schemaAtStart);
    return;
  }
  if (url.startsWith('/data/')) {
    const file = data + '/' + url.slice(6).replace(/[^a-z0-9-]/g, '');
    res.end(existsSync(file) ? readFileSync(file, 'utf8').trim() : 'none');
    return;
  }
  inFlight += 1;
  const slow = /^\\/slow\\?ms=(\\d+)$/.exec(url);
  const answer = () => {
    inFlight -= 1;
    res.end(version);
  };
  if (slow) setTimeout(answer, Number(slow[1]));
  else answer();
});
server.listen(Number(process.env.PORT ?? 8080));
process.on('SIGTERM', () => {
  writeFileSync(data + '/sigterm-' + version, String(inFlight));
  server.close();
  process.exit(0);
});
console.log('version ' + version + ' listening, schema ' + schemaAtStart);
`;

export type TargetKind = 'process' | 'docker';

export interface AppOptions {
  version: string;
  healthy?: boolean;
  crash?: boolean;
  /** The main container's command (default: node server.mjs). */
  command?: string[];
  /** The main container's image on the docker target (default: the local node image). */
  image?: string;
  /** A release-phase container writing `<data>/schema`; `fail` makes it exit 3 instead. */
  migrate?: 'ok' | 'fail';
  liveness?: boolean;
}

export const NODE_IMAGE = 'localhost/node-local:20';
export const BUSYBOX_IMAGE = 'localhost/busybox:paved';

/** The Score file of workload `web` for a target. */
export function appScore(target: TargetKind, options: AppOptions): string {
  const docker = target === 'docker';
  const mainImage = docker ? (options.image ?? NODE_IMAGE) : '.';
  const serverPath = docker ? '/srv/server.mjs' : 'server.mjs';
  const command = options.command ?? ['node', serverPath];
  const files = docker
    ? `    files:
      /srv/server.mjs:
        content: ${JSON.stringify(SERVER_JS)}
`
    : '';
  const migrateScript =
    options.migrate === 'fail'
      ? `echo "migrating to ${options.version}"; echo "migration ${options.version} failed: relation orders already exists" >&2; exit 3`
      : `echo "migrating to ${options.version}"; sleep 1; echo ${options.version} > "$PAVED_ROOT/data/schema"; echo "migrated to ${options.version}"`;
  const migrate =
    options.migrate === undefined
      ? ''
      : `  migrate:
    image: ${docker ? BUSYBOX_IMAGE : '.'}
    command: ["sh", "-c", ${JSON.stringify(migrateScript)}]
    volumes:
      /data:
        source: \${resources.data}
`;
  return `apiVersion: score.dev/v1b1
metadata:
  name: web
service:
  ports:
    www:
      port: 8080
containers:
${migrate}  main:
    image: ${mainImage}
    command: ${JSON.stringify(command)}
${files}    variables:
      VERSION: "${options.version}"
      HEALTHY: "${options.healthy === false ? 'no' : 'yes'}"
      CRASH: "${options.crash === true ? 'yes' : 'no'}"
    volumes:
      /data:
        source: \${resources.data}
    readinessProbe:
      httpGet:
        path: /healthz
        port: 8080
${
  options.liveness === true
    ? `    livenessProbe:
      httpGet:
        path: /alive
        port: 8080
`
    : ''
}${options.migrate === undefined ? '' : '    before:\n      migrate:\n        ready: complete\n'}resources:
  data:
    type: volume
  dns:
    type: dns
  route:
    type: route
    params:
      host: \${resources.dns.host}
      path: /
      port: www
`;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- the answers are the API's JSON */
export interface ApiAnswer {
  status: number;
  body: any;
}

/** A small API client over fetch with the administrator's token of a test server. */
export class TestApi {
  readonly server: RunningServer;
  readonly #token: string;

  private constructor(server: RunningServer, token: string) {
    this.server = server;
    this.#token = token;
  }

  static async of(server: RunningServer, dataDir: string): Promise<TestApi> {
    const credentials = JSON.parse(await readFile(join(dataDir, 'credentials.json'), 'utf8')) as {
      token: string;
    };
    return new TestApi(server, credentials.token);
  }

  async call(method: string, path: string, body?: unknown): Promise<ApiAnswer> {
    const response = await fetch(`${this.server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.#token}`,
        ...(body === undefined
          ? {}
          : { 'content-type': body instanceof Uint8Array ? 'application/gzip' : 'application/json' }),
      },
      ...(body === undefined ? {} : { body: body instanceof Uint8Array ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  }

  /** Submits a deployment of `web` and waits until it is finished. */
  async deploy(app: string, env: string, score: string, contexts?: Record<string, string>): Promise<any> {
    const answer = await this.call('POST', `/api/v1/apps/${app}/envs/${env}/deployments`, {
      workloads: [{ file: 'web/score.yaml', score, ...(contexts === undefined ? {} : { contexts }) }],
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    const number = (answer.body as { number: number }).number;
    const deadline = Date.now() + 180_000;
    for (;;) {
      const deployment = (await this.call('GET', `/api/v1/apps/${app}/envs/${env}/deployments/${number}`))
        .body as { status: string };
      if (['succeeded', 'failed', 'cancelled'].includes(deployment.status)) return deployment;
      if (Date.now() > deadline) throw new Error(`deployment ${number} still ${deployment.status}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /**
   * The events stored for a finished deployment: its stream replays them, sends `event: end` and
   * closes.
   */
  async events(app: string, env: string, number: number): Promise<any[]> {
    const response = await fetch(
      `${this.server.url}/api/v1/apps/${app}/envs/${env}/deployments/${number}/events`,
      { headers: { authorization: `Bearer ${this.#token}` }, signal: AbortSignal.timeout(30_000) },
    );
    const text = await response.text();
    expect(text).toContain('event: end');
    return text.split('\n\n').flatMap((block): unknown[] => {
      if (!block.includes('event: deployment-event')) return [];
      const data = block.split('\n').find((line) => line.startsWith('data: '));
      return data === undefined ? [] : [JSON.parse(data.slice(6))];
    });
  }

  async status(app: string, env: string): Promise<any> {
    const answer = await this.call('GET', `/api/v1/apps/${app}/envs/${env}/status`);
    expect(answer.status).toBe(200);
    return answer.body;
  }
}

/** Waits until `check` returns a value other than undefined, or throws after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
