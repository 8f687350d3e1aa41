import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PavedClient } from './paved-client.js';
import { startRecordingServer } from './testing/recording-server.js';
import type { RecordingServer } from './testing/recording-server.js';
import type { Deployment, DeploymentStreamItem, LogLine } from './types.js';

const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function record(answer: Parameters<typeof startRecordingServer>[0]): Promise<RecordingServer> {
  const server = await startRecordingServer(answer);
  closers.push(() => server.close());
  return server;
}

/** A server whose handler writes the response itself, for streams. */
async function streaming(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<string> {
  const server = createServer(handler);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  closers.push(
    () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const deployment: Deployment = {
  app: 'shop',
  env: 'dev',
  number: 3,
  status: 'succeeded',
  setId: 's',
  actor: 'admin',
  createdAt: '2026-01-01T00:00:00Z',
  steps: [],
};

function event(seq: number, message: string): string {
  const data = JSON.stringify({
    seq,
    time: '2026-01-01T00:00:00Z',
    level: 'info',
    type: 'step.started',
    message,
  });
  return `event: deployment-event\nid: ${seq}\ndata: ${data}\n\n`;
}

async function collect<T>(iterator: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterator) items.push(item);
  return items;
}

describe('PavedClient deployments', () => {
  it('builds the documented paths and bodies', async () => {
    const server = await record((request) =>
      request.method === 'HEAD'
        ? { status: request.url.endsWith('aa') ? 200 : 404 }
        : request.url.endsWith('/deployments') && request.method === 'GET'
          ? { body: { items: [deployment], next: null } }
          : { status: 201, body: request.method === 'PUT' ? { hash: 'sha256:bb', bytes: 3 } : deployment },
    );
    const client = new PavedClient({ url: server.url, token: 't' });
    await expect(client.hasContext('shop', 'sha256:aa')).resolves.toBe(true);
    await expect(client.hasContext('shop', 'sha256:bb')).resolves.toBe(false);
    await expect(client.uploadContext('shop', 'sha256:bb', Buffer.from([1, 2, 3]))).resolves.toEqual({
      hash: 'sha256:bb',
      bytes: 3,
    });
    const request = { workloads: [{ file: 'score.yaml', score: 'x' }], message: 'm' };
    await client.deploy('shop', 'dev', request);
    await client.planDeployment('shop', 'dev', request);
    await expect(client.listDeployments('shop', 'dev')).resolves.toEqual([deployment]);
    await client.getDeployment('shop', 'dev', 3);
    await client.cancelDeployment('shop', 'dev', 3);
    await client.status('shop', 'dev');
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'HEAD /api/v1/apps/shop/contexts/sha256%3Aaa',
      'HEAD /api/v1/apps/shop/contexts/sha256%3Abb',
      'PUT /api/v1/apps/shop/contexts/sha256%3Abb',
      'POST /api/v1/apps/shop/envs/dev/deployments',
      'POST /api/v1/apps/shop/envs/dev/deployments',
      'GET /api/v1/apps/shop/envs/dev/deployments',
      'GET /api/v1/apps/shop/envs/dev/deployments/3',
      'POST /api/v1/apps/shop/envs/dev/deployments/3/cancel',
      'GET /api/v1/apps/shop/envs/dev/status',
    ]);
    expect(server.requests[2]!.headers['content-type']).toBe('application/gzip');
    expect(Buffer.from(server.requests[2]!.body, 'utf8')).toEqual(Buffer.from([1, 2, 3]));
    expect(JSON.parse(server.requests[3]!.body)).toEqual({ ...request, plan: false });
    expect(JSON.parse(server.requests[4]!.body)).toEqual({ ...request, plan: true });
  });

  it('reports a refused HEAD other than 404 as the error of its status', async () => {
    const server = await record(() => ({ status: 403 }));
    await expect(new PavedClient({ url: server.url }).hasContext('shop', 'sha256:aa')).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
  });

  it('streams deployment events, then the finished deployment', async () => {
    const url = await streaming((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(': hello\n\n');
      response.write(event(1, 'validate'));
      // An event cut in the middle of its data line arrives whole.
      const second = event(2, 'provision');
      response.write(second.slice(0, 30));
      setTimeout(() => {
        response.write(second.slice(30));
        response.end(`event: end\ndata: ${JSON.stringify(deployment)}\n\n`);
      }, 20);
    });
    const items = await collect(new PavedClient({ url }).deploymentEvents('shop', 'dev', 3));
    expect(
      items.map((item) => (item.kind === 'event' ? item.event.message : item.deployment.status)),
    ).toEqual(['validate', 'provision', 'succeeded']);
  });

  it('resumes a dropped event stream once with Last-Event-ID, then gives up with what to run', async () => {
    const seen: Array<string | undefined> = [];
    let finish = true;
    const url = await streaming((request, response) => {
      seen.push(request.headers['last-event-id'] as string | undefined);
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      if (seen.length === 1) {
        response.end(event(1, 'one') + event(2, 'two'));
      } else if (finish) {
        response.end(event(3, 'three') + `event: end\ndata: ${JSON.stringify(deployment)}\n\n`);
      } else {
        response.end();
      }
    });
    const client = new PavedClient({ url });
    const items: DeploymentStreamItem[] = await collect(client.deploymentEvents('shop', 'dev', 3));
    expect(items).toHaveLength(4);
    expect(seen).toEqual([undefined, '2']);

    seen.length = 0;
    finish = false;
    await expect(collect(client.deploymentEvents('shop', 'dev', 3, { after: 5 }))).rejects.toThrow(
      /lost the event stream of deployment 3 of shop\/dev twice .*paved deployments get shop dev 3/,
    );
    expect(seen).toEqual(['5', '2']);
  });

  it('reads newline-delimited log lines with the query the options ask for', async () => {
    const lines: LogLine[] = [
      { time: 't1', container: 'main', stream: 'stdout', line: 'listening' },
      { time: 't2', container: 'main', stream: 'stderr', line: 'oops ü' },
    ];
    let asked = '';
    const url = await streaming((request, response) => {
      asked = request.url ?? '';
      response.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const text = Buffer.from(lines.map((line) => JSON.stringify(line)).join('\n') + '\n');
      // Cut inside the two-byte ü: the decoder must put it back together.
      const cut = text.indexOf(Buffer.from('ü')) + 1;
      response.write(text.subarray(0, cut));
      setTimeout(() => response.end(text.subarray(cut)), 10);
    });
    const got = await collect(
      new PavedClient({ url }).logs('shop', 'dev', 'frontend', { container: 'main', since: '10m', tail: 5 }),
    );
    expect(got).toEqual(lines);
    expect(asked).toBe('/api/v1/apps/shop/envs/dev/workloads/frontend/logs?container=main&since=10m&tail=5');
  });

  it('ends a followed log quietly when the caller aborts', async () => {
    const url = await streaming((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/x-ndjson' });
      response.write(`${JSON.stringify({ time: 't', container: 'main', stream: 'stdout', line: 'a' })}\n`);
    });
    const controller = new AbortController();
    const got: string[] = [];
    for await (const line of new PavedClient({ url }).logs('shop', 'dev', 'web', {
      follow: true,
      signal: controller.signal,
    })) {
      got.push(line.line);
      controller.abort();
    }
    expect(got).toEqual(['a']);
  });
});
