/**
 * A real webhook receiver for tests: an HTTP(S) server on 127.0.0.1 that follows
 * docs/drivers/webhook-protocol.md, checking every request with `verifyWebhookSignature`. The
 * path picks a behaviour:
 *
 * - `/buckets` provisions a "bucket" (idempotent: the same resource gets the same outputs);
 * - `/slow` answers 202 and finishes after two polls;
 * - `/forever` answers 202 and never finishes; `/hang` never answers at all;
 * - `/flaky` answers 503 to the first `flakyFailures` requests, then behaves like `/buckets`;
 * - `/drop` destroys the connection of the first request, then behaves like `/buckets`;
 * - `/always-500`, `/refuse` (400 with an error message), `/echo` (400 echoing a secret input),
 *   `/garbage` (200, not JSON), `/wrong-shape` (200, JSON of the wrong shape), `/offsite` (202
 *   with a Location on another origin).
 */
import { createHash, randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { verifyWebhookSignature } from '../webhook/webhook-signature.js';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** Whether the signature checked out; the reason when not. */
  verified: true | string;
}

interface Body {
  action?: string;
  resource?: { uid?: string; id?: string; params?: { region?: unknown } };
  context?: { app?: string; env?: string };
  previousState?: unknown;
  inputs?: { secrets?: Record<string, unknown> };
}

export class WebhookTestReceiver {
  readonly requests: ReceivedRequest[] = [];
  /** What `/buckets` keeps: key `<app>/<env>/<uid>` → the bucket. */
  readonly buckets = new Map<string, { name: string; accessKey: string }>();
  /** How many requests to `/flaky` fail with 503 before it works. */
  flakyFailures = 2;
  /** Added to the receiver's clock, to make requests look replayed. */
  clockSkewSeconds = 0;
  #flakySeen = 0;
  #dropped = false;
  #operations = new Map<string, { polls: number; finish: () => { status: number; body?: unknown } }>();
  #server: http.Server | https.Server;
  #base = '';

  private constructor(
    readonly secret: string,
    tls?: { key: string; cert: string },
  ) {
    const handler = (request: IncomingMessage, response: ServerResponse): void => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => this.#handle(request, Buffer.concat(chunks).toString('utf8'), response));
    };
    this.#server = tls === undefined ? http.createServer(handler) : https.createServer(tls, handler);
  }

  static async start(secret: string, tls?: { key: string; cert: string }): Promise<WebhookTestReceiver> {
    const receiver = new WebhookTestReceiver(secret, tls);
    await new Promise<void>((resolve) => receiver.#server.listen(0, '127.0.0.1', resolve));
    const { port } = receiver.#server.address() as AddressInfo;
    receiver.#base = `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`;
    return receiver;
  }

  url(path: string): string {
    return `${this.#base}${path}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #send(
    response: ServerResponse,
    status: number,
    body?: unknown,
    headers: Record<string, string> = {},
  ): void {
    const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(text);
  }

  #handle(request: IncomingMessage, text: string, response: ServerResponse): void {
    const method = request.method ?? '';
    const path = new URL(request.url ?? '/', this.#base).pathname;
    const verdict = verifyWebhookSignature({
      secret: this.secret,
      method,
      body: text,
      headers: request.headers,
      now: new Date(Date.now() + this.clockSkewSeconds * 1000),
    });
    this.requests.push({
      method,
      path,
      headers: request.headers,
      body: text,
      verified: verdict.ok ? true : verdict.reason,
    });
    if (!verdict.ok) {
      this.#send(response, 401, { error: { message: `signature refused: ${verdict.reason}` } });
      return;
    }
    const body = (text === '' ? {} : JSON.parse(text)) as Body;

    if (path.startsWith('/operations/')) {
      const operation = this.#operations.get(path);
      if (operation === undefined)
        return this.#send(response, 404, { error: { message: 'no such operation' } });
      operation.polls += 1;
      if (operation.polls < 2) return this.#send(response, 202, undefined, { 'retry-after': '0' });
      const { status, body: result } = operation.finish();
      return this.#send(response, status, result);
    }
    switch (path) {
      case '/buckets':
        return this.#buckets(method, body, response);
      case '/slow':
      case '/forever': {
        const id = `/operations/${randomBytes(6).toString('hex')}`;
        const forever = path === '/forever';
        this.#operations.set(id, {
          polls: forever ? Number.NEGATIVE_INFINITY : 0,
          finish: () => this.#bucketResult(method, body),
        });
        return this.#send(response, 202, { status: 'working' }, { location: id, 'retry-after': '0' });
      }
      case '/hang':
        return; // never answers
      case '/flaky':
        this.#flakySeen += 1;
        if (this.#flakySeen <= this.flakyFailures) return this.#send(response, 503, 'try later');
        return this.#buckets(method, body, response);
      case '/drop':
        if (!this.#dropped) {
          this.#dropped = true;
          request.socket.destroy();
          return;
        }
        return this.#buckets(method, body, response);
      case '/always-500':
        return this.#send(response, 500, { error: { message: 'database is down' } });
      case '/refuse':
        return this.#send(response, 400, { error: { message: 'bucket names must be unique' } });
      case '/echo':
        return this.#send(
          response,
          400,
          `token ${String(body.inputs?.secrets?.adminToken)} is not allowed here`,
        );
      case '/garbage':
        return this.#send(response, 200, 'bananas');
      case '/wrong-shape':
        return this.#send(response, 200, { outputs: 5, extra: true });
      case '/offsite':
        return this.#send(response, 202, undefined, { location: 'http://elsewhere.example/operations/1' });
      default:
        return this.#send(response, 404, { error: { message: `no route ${path}` } });
    }
  }

  #key(body: Body): string {
    return `${body.context?.app ?? ''}/${body.context?.env ?? ''}/${body.resource?.uid ?? ''}`;
  }

  #bucketResult(method: string, body: Body): { status: number; body?: unknown } {
    const key = this.#key(body);
    if (method === 'DELETE') {
      return this.buckets.delete(key)
        ? { status: 204 }
        : { status: 404, body: { error: { message: 'no such bucket' } } };
    }
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      const name = `paved-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
      bucket = { name, accessKey: randomBytes(12).toString('hex') };
      this.buckets.set(key, bucket);
    }
    return {
      status: 200,
      body: {
        outputs: { bucket: bucket.name, region: body.resource?.params?.region ?? 'eu-1' },
        secrets: { accessKey: bucket.accessKey },
        state: { bucket: bucket.name },
      },
    };
  }

  #buckets(method: string, body: Body, response: ServerResponse): void {
    const { status, body: result } = this.#bucketResult(method, body);
    this.#send(response, status, result);
  }
}
