import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PavedError, type ProvisionRequest } from '@paved/core';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { conformanceContext, describeResourceDriver } from '../testing/describe-resource-driver.js';
import { WebhookTestReceiver } from '../testing/webhook-receiver.js';
import { createWebhookDriver, WEBHOOK_API_VERSION } from './webhook-driver.js';
import { verifyWebhookSignature } from './webhook-signature.js';

const SECRET = 'a-signing-secret-of-some-length';
const ADMIN_TOKEN = 'admin-token-7f3a9c';
const fast = () => createWebhookDriver({ retryDelayMs: 10, maxRetryDelayMs: 50, pollIntervalMs: 20 });
const inputsFor = (
  receiver: WebhookTestReceiver,
  path: string,
  values: Record<string, unknown> = {},
  secrets: Record<string, string> = {},
) => ({
  values: {
    url: receiver.url(path),
    plan: 'standard',
    timeoutSeconds: 10,
    requestTimeoutSeconds: 5,
    retries: 2,
    ...values,
  },
  secrets: { signingSecret: SECRET, adminToken: ADMIN_TOKEN, ...secrets },
});

const suiteReceiver = await WebhookTestReceiver.start(SECRET);
afterAll(() => suiteReceiver.close());

describeResourceDriver('webhook', fast, {
  inputs: inputsFor(suiteReceiver, '/buckets'),
  params: { region: 'eu-2' },
  malformed: { values: { url: 'ftp://files.example/x' }, secrets: { signingSecret: SECRET } },
  malformedResult: { inputs: inputsFor(suiteReceiver, '/garbage') },
  timeout: { inputs: inputsFor(suiteReceiver, '/hang', { timeoutSeconds: 1, retries: 0 }), withinMs: 3_000 },
  cancel: { inputs: inputsFor(suiteReceiver, '/hang', { timeoutSeconds: 60 }) },
  check: (outputs, secrets) => {
    expect(outputs).toEqual({ bucket: expect.stringMatching(/^paved-[0-9a-f]{12}$/), region: 'eu-2' });
    expect(secrets.accessKey).toMatch(/^[0-9a-f]{24}$/);
    expect([...suiteReceiver.buckets.values()].map((bucket) => bucket.name)).toContain(outputs.bucket);
  },
});

describe('webhook driver', () => {
  let receiver: WebhookTestReceiver;
  let lines: string[];
  beforeEach(async () => {
    receiver = await WebhookTestReceiver.start(SECRET);
    lines = [];
  });
  afterEach(() => receiver.close());

  const request = (inputs: ProvisionRequest['inputs'], previousState?: unknown): ProvisionRequest => ({
    resource: {
      uid: 'bucket.default#orders.files',
      type: 'bucket',
      class: 'default',
      id: 'orders.files',
      params: { region: 'eu-3' },
      metadata: { annotations: { team: 'payments' } },
    },
    context: conformanceContext(),
    inputs,
    ...(previousState === undefined ? {} : { previousState }),
    log: (line) => lines.push(line),
  });
  const deprovisionRequest = (inputs: ProvisionRequest['inputs'], state: unknown) => ({
    resource: request(inputs).resource,
    context: {
      app: 'shop',
      env: 'dev',
      envType: 'development',
      target: { name: 'process', kind: 'process' as const },
    },
    inputs,
    state,
    log: (line: string) => lines.push(line),
  });
  const live = () => new AbortController().signal;
  const failure = async (promise: Promise<unknown>): Promise<PavedError> => {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(PavedError);
    return error as PavedError;
  };

  it('PUTs a signed JSON body with the resource, context, other inputs and previous state; DELETE deprovisions', async () => {
    const inputs = inputsFor(receiver, '/buckets');
    const first = await fast().provision(request(inputs), live());
    const again = await fast().provision(request(inputs, first.state), live());
    expect(again).toEqual(first);
    await fast().deprovision(deprovisionRequest(inputs, again.state), live());
    expect(receiver.buckets.size).toBe(0);

    const [put, second, del] = receiver.requests;
    expect(receiver.requests.every((seen) => seen.verified === true)).toBe(true);
    expect(put?.method).toBe('PUT');
    expect(put?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(put?.body ?? '')).toEqual({
      apiVersion: WEBHOOK_API_VERSION,
      action: 'provision',
      resource: {
        uid: 'bucket.default#orders.files',
        type: 'bucket',
        class: 'default',
        id: 'orders.files',
        params: { region: 'eu-3' },
        metadata: { annotations: { team: 'payments' } },
      },
      context: {
        app: 'shop',
        env: 'dev',
        envType: 'development',
        target: { name: 'process', kind: 'process' },
        workload: 'orders',
        network: conformanceContext().network,
      },
      inputs: { values: { plan: 'standard' }, secrets: { adminToken: ADMIN_TOKEN } },
      previousState: null,
    });
    expect(put?.body).not.toContain(SECRET);
    expect(JSON.parse(second?.body ?? '').previousState).toEqual(first.state);
    expect(del?.method).toBe('DELETE');
    expect(JSON.parse(del?.body ?? '')).toMatchObject({ action: 'deprovision', state: first.state });
    // Deprovisioning what is gone (404) succeeds.
    await fast().deprovision(deprovisionRequest(inputs, again.state), live());
    expect(receiver.requests.at(-1)?.method).toBe('DELETE');
  });

  it('follows 202 and Location, polling with signed GETs, for provision and deprovision', async () => {
    const inputs = inputsFor(receiver, '/slow');
    const result = await fast().provision(request(inputs), live());
    expect(result.outputs).toMatchObject({ region: 'eu-3' });
    await fast().deprovision(deprovisionRequest(inputs, result.state), live());
    expect(
      receiver.requests.map((seen) => `${seen.method} ${seen.path.replace(/[0-9a-f]{12}$/, 'ID')}`),
    ).toEqual([
      'PUT /slow',
      'GET /operations/ID',
      'GET /operations/ID',
      'DELETE /slow',
      'GET /operations/ID',
      'GET /operations/ID',
    ]);
    expect(receiver.requests.every((seen) => seen.verified === true)).toBe(true);
    expect(
      lines.some((line) => /accepted \(202\), polling http:\/\/127\.0\.0\.1:\d+\/operations\//.test(line)),
    ).toBe(true);
  });

  it('retries 5xx answers and dropped connections with backoff, then succeeds', async () => {
    await fast().provision(request(inputsFor(receiver, '/flaky')), live());
    expect(receiver.requests.filter((seen) => seen.path === '/flaky')).toHaveLength(3);
    expect(lines.filter((line) => line.includes('answered 503 (server error); retrying'))).toHaveLength(2);
    await fast().provision(request(inputsFor(receiver, '/drop')), live());
    expect(receiver.requests.filter((seen) => seen.path === '/drop')).toHaveLength(2);
  });

  it('gives up after its retries, naming the status, the attempts and the message', async () => {
    const error = await failure(fast().provision(request(inputsFor(receiver, '/always-500')), live()));
    expect(error.code).toBe('DRIVER_FAILED');
    expect(error.message).toMatch(
      /^webhook PUT http:\/\/127\.0\.0\.1:\d+\/always-500 for resource "bucket.default#orders.files" answered 500 \(server error\) after 3 attempts: database is down: the receiver failed/,
    );
    expect(receiver.requests).toHaveLength(3);
  });

  it('retries a refused connection, then names it', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await failure(
      fast().provision(
        request(inputsFor(receiver, '/x', { url: `http://127.0.0.1:${port}/x`, retries: 1 })),
        live(),
      ),
    );
    expect(error.message).toContain('failed after 2 attempts: ECONNREFUSED');
    expect(lines.filter((line) => line.includes('ECONNREFUSED') && line.includes('retrying'))).toHaveLength(
      1,
    );
  });

  it('does not retry a 4xx answer, and shows its message with secrets masked', async () => {
    const error = await failure(fast().provision(request(inputsFor(receiver, '/refuse')), live()));
    expect(error.message).toContain(
      'answered 400: bucket names must be unique: the receiver refused the request',
    );
    expect(receiver.requests).toHaveLength(1);
    const echoed = await failure(fast().provision(request(inputsFor(receiver, '/echo')), live()));
    expect(echoed.message).not.toContain(ADMIN_TOKEN);
    expect(echoed.message).toContain('answered 400: token *** is not allowed here');
  });

  it('is refused by the receiver with a wrong signing secret, and a replayed request is refused', async () => {
    const error = await failure(
      fast().provision(
        request(inputsFor(receiver, '/buckets', {}, { signingSecret: 'another-secret-entirely' })),
        live(),
      ),
    );
    expect(error.message).toContain('answered 401: signature refused: signature does not match');
    expect(error.message).toContain('same signing secret');

    await fast().provision(request(inputsFor(receiver, '/buckets')), live());
    const captured = receiver.requests.at(-1)!;
    // The same request, delivered again ten minutes later.
    receiver.clockSkewSeconds = 600;
    const replay = await fetch(receiver.url('/buckets'), {
      method: 'PUT',
      headers: Object.fromEntries(
        ['content-type', 'paved-timestamp', 'paved-delivery', 'paved-signature'].map((name) => [
          name,
          String(captured.headers[name]),
        ]),
      ),
      body: captured.body,
    });
    expect(replay.status).toBe(401);
    expect(await replay.text()).toContain('beyond the 300 s tolerance');
  });

  it('fails clearly on answers that break the protocol, without showing the body', async () => {
    const garbage = await failure(fast().provision(request(inputsFor(receiver, '/garbage')), live()));
    expect(garbage.message).toMatch(/answered 200, but its body \(7 bytes\) is not JSON/);
    expect(garbage.message).not.toContain('bananas');
    const shape = await failure(fast().provision(request(inputsFor(receiver, '/wrong-shape')), live()));
    expect(shape.message).toContain('its body breaks the result shape: outputs:');
    expect(shape.message).toContain('Unrecognized key: "extra"');
    const offsite = await failure(fast().provision(request(inputsFor(receiver, '/offsite')), live()));
    expect(offsite.message).toContain('is on another origin');
  });

  it('times out while polling work that never finishes', async () => {
    const error = await failure(
      fast().provision(request(inputsFor(receiver, '/forever', { timeoutSeconds: 0.5 })), live()),
    );
    expect(error.message).toContain(
      'provision of resource "bucket.default#orders.files" timed out after 0.5 s',
    );
  });

  it('refuses a signing secret under values and credentials in the URL', async () => {
    const inputs = inputsFor(receiver, '/buckets');
    await expect(
      fast().provision(
        request({
          values: { ...inputs.values, signingSecret: SECRET },
          secrets: { adminToken: ADMIN_TOKEN },
        }),
        live(),
      ),
    ).rejects.toThrow('driver "webhook" got signingSecret under values');
    await expect(
      fast().provision(request(inputsFor(receiver, '/x', { url: 'https://user:pw@example.com/x' })), live()),
    ).rejects.toThrow(/url: must not hold credentials/);
    expect(receiver.requests).toHaveLength(0);
  });

  it('warns in the events when the URL is plain HTTP', async () => {
    await fast().provision(request(inputsFor(receiver, '/buckets')), live());
    expect(lines.some((line) => line.includes('is plain HTTP'))).toBe(true);
  });
});

describe('webhook driver over HTTPS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'paved-webhook-tls-'));
  // A self-signed certificate for 127.0.0.1, made for this run.
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=paved webhook test',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  const tls = {
    key: readFileSync(join(dir, 'key.pem'), 'utf8'),
    cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
  };
  let receiver: WebhookTestReceiver;
  beforeEach(async () => {
    receiver = await WebhookTestReceiver.start(SECRET, tls);
  });
  afterEach(() => receiver.close());
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const provision = (values: Record<string, unknown> = {}) =>
    fast().provision(
      {
        resource: {
          uid: 'bucket.default#b',
          type: 'bucket',
          class: 'default',
          id: 'b',
          params: {},
          metadata: {},
        },
        context: conformanceContext(),
        inputs: inputsFor(receiver, '/buckets', values),
      },
      new AbortController().signal,
    );

  it('verifies TLS by default: a self-signed server fails without its CA, at once and without retries', async () => {
    expect(receiver.url('/buckets')).toMatch(/^https:/);
    const error = await provision().then(
      () => undefined,
      (caught: unknown) => caught as Error,
    );
    expect(error?.message).toMatch(
      /TLS verification of the server's certificate failed \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)/,
    );
    expect(error?.message).toContain('give the CA that signed it as the caCertificate input');
    expect(error?.message).not.toContain('attempts');
    expect(receiver.requests).toHaveLength(0);
  });

  it('works with the CA given as caCertificate', async () => {
    const result = await provision({ caCertificate: tls.cert });
    expect(result.outputs.bucket).toMatch(/^paved-/);
    expect(receiver.requests).toHaveLength(1);
    expect(
      verifyWebhookSignature({
        secret: SECRET,
        method: 'PUT',
        body: receiver.requests[0]!.body,
        headers: receiver.requests[0]!.headers,
      }).ok,
    ).toBe(true);
  });
});
