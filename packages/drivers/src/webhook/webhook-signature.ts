/**
 * Signatures of webhook requests (docs/drivers/webhook-protocol.md): HMAC-SHA256, keyed by the
 * definition's signing secret, over `<timestamp>.<delivery id>.<METHOD>.<body>`. The timestamp lets
 * a receiver refuse replays; the method stops a captured PUT from being replayed as a DELETE.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

export const WEBHOOK_TIMESTAMP_HEADER = 'paved-timestamp';
export const WEBHOOK_DELIVERY_HEADER = 'paved-delivery';
export const WEBHOOK_SIGNATURE_HEADER = 'paved-signature';
/** How old (or how far in the future) a request may be before a receiver refuses it. */
export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300;

const SIGNATURE_PREFIX = 'sha256=';

function signature(
  secret: string,
  timestamp: string,
  delivery: string,
  method: string,
  body: string,
): string {
  return createHmac('sha256', secret)
    .update(`${timestamp}.${delivery}.${method.toUpperCase()}.${body}`)
    .digest('hex');
}

export interface SignWebhookRequestOptions {
  secret: string;
  method: string;
  /** The exact bytes sent, as text; empty for a GET. */
  body: string;
  /** Unix time in seconds; now unless given. */
  timestamp?: number;
  /** A unique id for this delivery; a random UUID unless given. */
  deliveryId?: string;
}

/** The three headers that sign one request. */
export function signWebhookRequest(options: SignWebhookRequestOptions): Record<string, string> {
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const delivery = options.deliveryId ?? randomUUID();
  return {
    [WEBHOOK_TIMESTAMP_HEADER]: timestamp,
    [WEBHOOK_DELIVERY_HEADER]: delivery,
    [WEBHOOK_SIGNATURE_HEADER]: `${SIGNATURE_PREFIX}${signature(options.secret, timestamp, delivery, options.method, options.body)}`,
  };
}

export interface VerifyWebhookSignatureOptions {
  /** The signing secret; several while rotating it (any one may match). */
  secret: string | readonly string[];
  /** The request's method, e.g. `PUT`. */
  method: string;
  /** The raw body as received, before any JSON parsing. */
  body: string | Uint8Array;
  /** The request's headers: Node's `IncomingHttpHeaders`, a fetch `Headers`, or a plain map. */
  headers: Headers | Record<string, string | string[] | undefined>;
  /** Refuse requests whose timestamp is further than this from now; 300 unless given. */
  toleranceSeconds?: number;
  /** The receiver's clock; the system clock unless given. */
  now?: Date;
}

export type WebhookVerification =
  { ok: true; deliveryId: string; timestamp: number } | { ok: false; reason: string };

function header(headers: VerifyWebhookSignatureOptions['headers'], name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name);
  const value = key === undefined ? undefined : headers[key];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Checks a webhook request's signature and age, for receivers. Refuses (with the reason) a
 * missing or malformed header, a timestamp outside the tolerance — a replay — and a signature that
 * matches no secret. Compares in constant time.
 *
 * @example
 * const verdict = verifyWebhookSignature({ secret: process.env.PAVED_SIGNING_SECRET!, method: req.method!, body, headers: req.headers });
 * if (!verdict.ok) { res.writeHead(401).end(JSON.stringify({ error: { message: verdict.reason } })); return; }
 */
export function verifyWebhookSignature(options: VerifyWebhookSignatureOptions): WebhookVerification {
  const timestamp = header(options.headers, WEBHOOK_TIMESTAMP_HEADER);
  const delivery = header(options.headers, WEBHOOK_DELIVERY_HEADER);
  const signed = header(options.headers, WEBHOOK_SIGNATURE_HEADER);
  if (timestamp === undefined || delivery === undefined || signed === undefined) {
    return {
      ok: false,
      reason: `missing header ${[
        timestamp === undefined ? WEBHOOK_TIMESTAMP_HEADER : undefined,
        delivery === undefined ? WEBHOOK_DELIVERY_HEADER : undefined,
        signed === undefined ? WEBHOOK_SIGNATURE_HEADER : undefined,
      ]
        .filter((name) => name !== undefined)
        .join(', ')}`,
    };
  }
  if (!/^\d{1,12}$/.test(timestamp))
    return { ok: false, reason: `${WEBHOOK_TIMESTAMP_HEADER} is not Unix seconds` };
  const tolerance = options.toleranceSeconds ?? DEFAULT_WEBHOOK_TOLERANCE_SECONDS;
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const age = now - Number(timestamp);
  if (Math.abs(age) > tolerance) {
    return {
      ok: false,
      reason: `${WEBHOOK_TIMESTAMP_HEADER} is ${Math.abs(age)} s ${age > 0 ? 'old' : 'in the future'}, beyond the ${tolerance} s tolerance: a replay, or clocks out of sync`,
    };
  }
  if (!signed.startsWith(SIGNATURE_PREFIX) || !/^[0-9a-f]{64}$/.test(signed.slice(SIGNATURE_PREFIX.length))) {
    return { ok: false, reason: `${WEBHOOK_SIGNATURE_HEADER} is not "sha256=" and 64 hex digits` };
  }
  const given = Buffer.from(signed.slice(SIGNATURE_PREFIX.length), 'hex');
  const body = typeof options.body === 'string' ? options.body : Buffer.from(options.body).toString('utf8');
  const secrets = typeof options.secret === 'string' ? [options.secret] : options.secret;
  const matches = secrets.some((secret) =>
    timingSafeEqual(given, Buffer.from(signature(secret, timestamp, delivery, options.method, body), 'hex')),
  );
  if (!matches)
    return { ok: false, reason: 'signature does not match: wrong secret, or the body was changed' };
  return { ok: true, deliveryId: delivery, timestamp: Number(timestamp) };
}
