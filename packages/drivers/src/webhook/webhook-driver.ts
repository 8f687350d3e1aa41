import {
  PavedError,
  type DeprovisionRequest,
  type ProvisionRequest,
  type ProvisionResult,
  type ResourceDriver,
} from '@paved/core';
import { z } from 'zod';
import { abortableDelay } from '../support/abortable-delay.js';
import { parseDriverInputs } from '../support/parse-driver-inputs.js';
import { redactSecrets } from '../support/redact-secrets.js';
import { exchange, WebhookTransportError, type WebhookResponse } from './webhook-client.js';
import { signWebhookRequest } from './webhook-signature.js';

export const WEBHOOK_DRIVER_ID = 'webhook';
/** The `apiVersion` of every request body; see docs/drivers/webhook-protocol.md. */
export const WEBHOOK_API_VERSION = 'paved.dev/webhook/v1';

const url = z.string().superRefine((text, context) => {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    context.addIssue({ code: 'custom', message: 'must be an absolute http:// or https:// URL' });
    return;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    context.addIssue({ code: 'custom', message: 'must be an http:// or https:// URL' });
  }
  if (parsed.username !== '' || parsed.password !== '') {
    context.addIssue({
      code: 'custom',
      message: 'must not hold credentials: requests are authenticated by their signature (signingSecret)',
    });
  }
  if (parsed.hash !== '') context.addIssue({ code: 'custom', message: 'must not have a #fragment' });
});

/** The driver's own inputs; every other input is passed to the receiver in the body. */
const inputs = z
  .object({
    url,
    signingSecret: z
      .string()
      .min(16, 'must be at least 16 characters; generate one with `openssl rand -hex 32`'),
    caCertificate: z
      .string()
      .includes('-----BEGIN CERTIFICATE-----', { message: 'must be a PEM certificate' })
      .optional(),
    timeoutSeconds: z.number().positive().max(86_400).default(600),
    requestTimeoutSeconds: z.number().positive().max(3_600).default(30),
    retries: z.number().int().min(0).max(10).default(3),
  })
  .catchall(z.unknown());

type WebhookInputs = z.output<typeof inputs>;
const OWN_KEYS = new Set([
  'url',
  'signingSecret',
  'caCertificate',
  'timeoutSeconds',
  'requestTimeoutSeconds',
  'retries',
]);

const resultSchema = z.strictObject({
  outputs: z.record(z.string(), z.unknown()).default({}),
  secrets: z.record(z.string(), z.string()).default({}),
  state: z.unknown().optional(),
});

export interface WebhookDriverOptions {
  /** The first retry waits about this long, each next one twice as long (with jitter). 500 ms. */
  retryDelayMs?: number;
  /** No retry waits longer. 10 s. */
  maxRetryDelayMs?: number;
  /** Wait between polls when a 202 gives no `Retry-After`. 1 s. */
  pollIntervalMs?: number;
  /** A longer `Retry-After` is cut to this. 30 s. */
  maxPollIntervalMs?: number;
}

type Method = 'PUT' | 'DELETE' | 'GET';

/** Where a request went, for messages: no query string, which may carry tokens. */
function where(target: URL): string {
  return `${target.origin}${target.pathname}`;
}

function describeStatus(status: number): string {
  return `${status}${status >= 500 ? ' (server error)' : ''}`;
}

/** One provisioning or deprovisioning, with its deadline, retries and polling. */
class WebhookCall {
  readonly #deadline: AbortSignal;
  readonly #secrets: string[];
  readonly #dispose: () => void;

  constructor(
    private readonly config: WebhookInputs,
    private readonly options: Required<WebhookDriverOptions>,
    private readonly action: 'provision' | 'deprovision',
    private readonly uid: string,
    private readonly signal: AbortSignal,
    secrets: Record<string, string>,
    private readonly log: (message: string) => void,
  ) {
    // A plain timer: a deadline made of AbortSignal.any + AbortSignal.timeout once failed to fire
    // in testing here (Node 20), leaving a call hanging.
    const deadline = new AbortController();
    this.#deadline = deadline.signal;
    const onAbort = (): void => deadline.abort(signal.reason);
    const timer = setTimeout(
      () => deadline.abort(new Error('deadline passed')),
      config.timeoutSeconds * 1000,
    );
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    this.#dispose = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    this.#secrets = Object.values(secrets).filter((value): value is string => typeof value === 'string');
  }

  /** The error to stop with once the caller cancelled or the deadline passed. */
  #stopped(): unknown {
    if (this.signal.aborted) return this.signal.reason;
    return new PavedError(
      'DRIVER_FAILED',
      `webhook ${where(new URL(this.config.url))}: ${this.action} of resource "${this.uid}" timed out after ${this.config.timeoutSeconds} s (input timeoutSeconds): ` +
        'raise timeoutSeconds, or have the receiver answer 202 at once and finish in the background',
      { details: { driver: WEBHOOK_DRIVER_ID, uid: this.uid, timeoutSeconds: this.config.timeoutSeconds } },
    );
  }

  async #wait(ms: number): Promise<void> {
    try {
      await abortableDelay(ms, this.#deadline);
    } catch {
      throw this.#stopped();
    }
  }

  #redact(text: string): string {
    return redactSecrets(text, this.#secrets);
  }

  /** Sends one request, retrying network failures and 5xx answers with exponential backoff. */
  async send(method: Method, target: URL, body: string): Promise<WebhookResponse & { attempts: number }> {
    const attempts = this.config.retries + 1;
    for (let attempt = 1; ; attempt += 1) {
      if (this.#deadline.aborted) throw this.#stopped();
      const headers = {
        'content-type': 'application/json',
        accept: 'application/json',
        'user-agent': 'paved-webhook/1',
        ...signWebhookRequest({ secret: this.config.signingSecret, method, body }),
      };
      let failure: string;
      try {
        const response = await exchange({
          method,
          url: target,
          body,
          headers,
          ...(this.config.caCertificate === undefined ? {} : { caCertificate: this.config.caCertificate }),
          timeoutMs: this.config.requestTimeoutSeconds * 1000,
          signal: this.#deadline,
        });
        if (response.status < 500 || attempt === attempts) return { ...response, attempts: attempt };
        failure = `answered ${describeStatus(response.status)}`;
      } catch (error) {
        if (this.#deadline.aborted) throw this.#stopped();
        const message = this.#redact(error instanceof Error ? error.message : String(error));
        if (!(error instanceof WebhookTransportError) || !error.retryable || attempt === attempts) {
          throw new PavedError(
            'DRIVER_FAILED',
            `webhook ${method} ${where(target)} for resource "${this.uid}" failed${attempt > 1 ? ` after ${attempt} attempts` : ''}: ${message}`,
            { cause: error, details: { driver: WEBHOOK_DRIVER_ID, uid: this.uid, url: where(target) } },
          );
        }
        failure = `failed: ${message}`;
      }
      const delay = Math.min(this.options.maxRetryDelayMs, this.options.retryDelayMs * 2 ** (attempt - 1));
      const jittered = Math.round(delay * (0.5 + Math.random() / 2));
      this.log(
        `webhook ${method} ${where(target)} ${failure}; retrying in ${(jittered / 1000).toFixed(1)} s (attempt ${attempt + 1} of ${attempts})`,
      );
      await this.#wait(jittered);
    }
  }

  /** Sends the request and follows 202 answers until the work is done; then lets go of the deadline. */
  async run(
    method: 'PUT' | 'DELETE',
    body: string,
  ): Promise<WebhookResponse & { url: URL; method: Method; attempts: number }> {
    try {
      return await this.#follow(method, body);
    } finally {
      this.#dispose();
    }
  }

  async #follow(
    method: 'PUT' | 'DELETE',
    body: string,
  ): Promise<WebhookResponse & { url: URL; method: Method; attempts: number }> {
    const origin = new URL(this.config.url);
    let target = origin;
    let response = await this.send(method, target, body);
    let polls = 0;
    while (response.status === 202) {
      const location = response.headers.location;
      if (location !== undefined) {
        let next: URL;
        try {
          next = new URL(location, target);
        } catch {
          throw this.#malformed(
            method,
            target,
            response.status,
            `its Location header ${JSON.stringify(location)} is not a URL`,
          );
        }
        if (next.origin !== origin.origin) {
          throw this.#malformed(
            method,
            target,
            response.status,
            `its Location ${where(next)} is on another origin than ${origin.origin}; Paved polls the receiver's own origin only`,
          );
        }
        target = next;
      } else if (polls === 0) {
        throw this.#malformed(method, target, response.status, 'it has no Location header to poll');
      }
      polls += 1;
      const wait = this.#retryAfter(response.headers['retry-after']);
      if (polls === 1)
        this.log(`webhook ${method} ${where(origin)}: accepted (202), polling ${where(target)}`);
      await this.#wait(wait);
      response = await this.send('GET', target, '');
    }
    return { ...response, url: target, method: polls === 0 ? method : 'GET' };
  }

  #retryAfter(header: string | undefined): number {
    const seconds = header === undefined ? Number.NaN : Number(header);
    const date =
      header === undefined || Number.isFinite(seconds) ? Number.NaN : Date.parse(header) - Date.now();
    const ms = Number.isFinite(seconds)
      ? seconds * 1000
      : Number.isFinite(date)
        ? date
        : this.options.pollIntervalMs;
    return Math.max(0, Math.min(this.options.maxPollIntervalMs, ms));
  }

  #malformed(method: Method, target: URL, status: number, problem: string): PavedError {
    return new PavedError(
      'DRIVER_FAILED',
      `webhook ${method} ${where(target)} for resource "${this.uid}" answered ${status}, but ${problem}: fix the receiver to follow docs/drivers/webhook-protocol.md`,
      { details: { driver: WEBHOOK_DRIVER_ID, uid: this.uid, url: where(target), status } },
    );
  }

  /** The error for an answer that is neither success nor 202. */
  refused(response: WebhookResponse & { url: URL; method: Method; attempts: number }): PavedError {
    const { url: target, method } = response;
    let detail = response.body.trim();
    try {
      const parsed = JSON.parse(detail) as { error?: { message?: unknown }; message?: unknown };
      const message = parsed.error?.message ?? parsed.message;
      if (typeof message === 'string') detail = message;
    } catch {
      // Not JSON: show the start of the text.
    }
    detail = this.#redact(detail.length > 300 ? `${detail.slice(0, 300)}…` : detail);
    const hint =
      response.status >= 500
        ? 'the receiver failed; see its logs'
        : response.status === 401 || response.status === 403
          ? 'the receiver refused the request; check that both sides use the same signing secret and that clocks agree'
          : response.status >= 400
            ? 'the receiver refused the request; fix what it names'
            : 'the protocol allows 200, 201 and 202 here (204, 404 and 410 too when deprovisioning)';
    return new PavedError(
      'DRIVER_FAILED',
      `webhook ${method} ${where(target)} for resource "${this.uid}" answered ${describeStatus(response.status)}` +
        `${response.attempts > 1 ? ` after ${response.attempts} attempts` : ''}${detail === '' ? '' : `: ${detail}`}: ${hint}`,
      { details: { driver: WEBHOOK_DRIVER_ID, uid: this.uid, url: where(target), status: response.status } },
    );
  }

  /** Reads outputs, secrets and state from a success answer. */
  result(response: WebhookResponse & { url: URL; method: Method }): ProvisionResult {
    const { url: target, method } = response;
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch (error) {
      // The body may hold secrets, so it is described, never shown.
      throw this.#malformed(
        method,
        target,
        response.status,
        `its body (${Buffer.byteLength(response.body)} bytes) is not JSON (${error instanceof Error ? error.name : 'parse error'}); ` +
          'answer {"outputs": {…}, "secrets": {…}, "state": …}',
      );
    }
    const parsed = resultSchema.safeParse(body);
    if (!parsed.success) {
      throw this.#malformed(
        method,
        target,
        response.status,
        `its body breaks the result shape: ${parsed.error.issues
          .map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
          .join('; ')}; answer {"outputs": {…}, "secrets": {"name": "text"}, "state": …}`,
      );
    }
    return { outputs: parsed.data.outputs, secrets: parsed.data.secrets, state: parsed.data.state ?? null };
  }
}

function checkInputs(request: Pick<ProvisionRequest, 'inputs'>): WebhookInputs {
  const config = parseDriverInputs(WEBHOOK_DRIVER_ID, inputs, request.inputs);
  if (Object.hasOwn(request.inputs.values, 'signingSecret')) {
    throw new PavedError(
      'INVALID_INPUT',
      'driver "webhook" got signingSecret under values, where it would be shown and exported in plain text: move it under secrets',
      { details: { driver: WEBHOOK_DRIVER_ID } },
    );
  }
  return config;
}

/** The definition's inputs other than the driver's own, for the receiver. */
function passedInputs(request: Pick<ProvisionRequest, 'inputs'>): ProvisionRequest['inputs'] {
  const others = <T>(record: Record<string, T>): Record<string, T> =>
    Object.fromEntries(Object.entries(record).filter(([key]) => !OWN_KEYS.has(key)));
  return { values: others(request.inputs.values), secrets: others(request.inputs.secrets) };
}

function resourceOf(request: ProvisionRequest | DeprovisionRequest) {
  const { uid, type, id, params, metadata } = request.resource;
  return { uid, type, class: request.resource.class, id, params, metadata };
}

function warnPlainHttp(config: WebhookInputs, log: (message: string) => void): void {
  if (new URL(config.url).protocol === 'http:') {
    log(
      `webhook ${where(new URL(config.url))} is plain HTTP: secret inputs and outputs cross the network unencrypted; use https`,
    );
  }
}

/**
 * `webhook`: an HTTP service provisions. PUT sends the resource, its context, the definition's
 * other inputs and the previous state, and gets outputs, secrets and state back; DELETE
 * deprovisions; 202 with a Location means "poll me". Requests are signed (HMAC-SHA256 over
 * timestamp, delivery id, method and body), retried with backoff on network errors and 5xx, never
 * on 4xx, and TLS is verified against the system's roots plus the `caCertificate` input.
 * The protocol: docs/drivers/webhook-protocol.md.
 *
 * @example
 * // definition inputs:
 * // values:  { url: 'https://provisioner.internal/buckets', plan: 'standard' }
 * // secrets: { signingSecret: { env: BUCKETS_SIGNING_SECRET } }
 */
export function createWebhookDriver(options: WebhookDriverOptions = {}): ResourceDriver {
  const tuning: Required<WebhookDriverOptions> = {
    retryDelayMs: options.retryDelayMs ?? 500,
    maxRetryDelayMs: options.maxRetryDelayMs ?? 10_000,
    pollIntervalMs: options.pollIntervalMs ?? 1_000,
    maxPollIntervalMs: options.maxPollIntervalMs ?? 30_000,
  };
  return {
    id: WEBHOOK_DRIVER_ID,
    inputs,
    async provision(request, signal) {
      signal.throwIfAborted();
      const config = checkInputs(request);
      const log = request.log ?? (() => undefined);
      warnPlainHttp(config, log);
      const { context } = request;
      const body = JSON.stringify({
        apiVersion: WEBHOOK_API_VERSION,
        action: 'provision',
        resource: resourceOf(request),
        context: {
          app: context.app,
          env: context.env,
          envType: context.envType,
          target: context.target,
          ...(context.workload === undefined ? {} : { workload: context.workload }),
          network: context.network,
        },
        inputs: passedInputs(request),
        previousState: request.previousState ?? null,
      });
      const call = new WebhookCall(
        config,
        tuning,
        'provision',
        request.resource.uid,
        signal,
        { ...request.previousSecrets, ...request.inputs.secrets },
        log,
      );
      const response = await call.run('PUT', body);
      if (response.status !== 200 && response.status !== 201) throw call.refused(response);
      return call.result(response);
    },
    async deprovision(request, signal) {
      signal.throwIfAborted();
      const config = checkInputs(request);
      const log = request.log ?? (() => undefined);
      const { context } = request;
      const body = JSON.stringify({
        apiVersion: WEBHOOK_API_VERSION,
        action: 'deprovision',
        resource: resourceOf(request),
        context: {
          app: context.app,
          env: context.env,
          envType: context.envType,
          target: context.target,
          ...(context.workload === undefined ? {} : { workload: context.workload }),
        },
        inputs: passedInputs(request),
        state: request.state ?? null,
      });
      const call = new WebhookCall(
        config,
        tuning,
        'deprovision',
        request.resource.uid,
        signal,
        request.inputs.secrets,
        log,
      );
      const response = await call.run('DELETE', body);
      if (![200, 204, 404, 410].includes(response.status)) throw call.refused(response);
    },
  };
}
