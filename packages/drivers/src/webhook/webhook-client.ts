/**
 * One HTTP exchange with a webhook receiver, over node:http/https so a definition can add a CA
 * to the trusted roots. No retries here: the driver decides what to retry.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';

/** Larger answers are refused: outputs, secrets and state are small JSON. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

export interface WebhookExchange {
  method: 'PUT' | 'DELETE' | 'GET';
  url: URL;
  body: string;
  headers: Record<string, string>;
  /** PEM of a CA to trust besides the system's roots. */
  caCertificate?: string;
  timeoutMs: number;
  signal: AbortSignal;
}

export interface WebhookResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Why an exchange failed without a response, and whether trying again can help. */
export class WebhookTransportError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'WebhookTransportError';
  }
}

// Certificate problems do not go away by retrying; they need the definition changed.
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function describeFailure(error: unknown): WebhookTransportError {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code === 'string' && TLS_CODES.has(code)) {
    return new WebhookTransportError(
      `TLS verification of the server's certificate failed (${code}: ${message}): give the CA that signed it as the caCertificate input, or fix the server's certificate`,
      false,
      { cause: error },
    );
  }
  return new WebhookTransportError(`${typeof code === 'string' ? `${code}: ` : ''}${message}`, true, {
    cause: error,
  });
}

/** Sends one request and reads the whole answer. Rejects with the signal's reason when aborted. */
export function exchange(options: WebhookExchange): Promise<WebhookResponse> {
  const { url, signal } = options;
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<WebhookResponse>((resolve, reject) => {
    let settled = false;
    const finish = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      outcome();
    };
    const request = client.request(url, {
      method: options.method,
      headers: {
        ...options.headers,
        ...(options.body === '' ? {} : { 'content-length': String(Buffer.byteLength(options.body)) }),
      },
      agent: false,
      ...(options.caCertificate === undefined ? {} : { ca: [...rootCertificates, options.caCertificate] }),
    });
    const onAbort = (): void => {
      request.destroy();
      finish(() => reject(signal.reason as Error));
    };
    const timer = setTimeout(() => {
      request.destroy();
      finish(() => reject(new WebhookTransportError(`no answer within ${options.timeoutMs / 1000} s`, true)));
    }, options.timeoutMs);
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    request.on('error', (error) => finish(() => reject(describeFailure(error))));
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) {
          request.destroy();
          finish(() =>
            reject(
              new WebhookTransportError(
                `the answer is larger than ${MAX_RESPONSE_BYTES} bytes: keep outputs and state small`,
                false,
              ),
            ),
          );
          return;
        }
        chunks.push(chunk);
      });
      response.on('error', (error) => finish(() => reject(describeFailure(error))));
      response.on('end', () =>
        finish(() =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        ),
      );
    });
    request.end(options.body === '' ? undefined : options.body);
  });
}
