/**
 * Which HTTP requests a relay may send a second time: those RFC 9110 (9.2.2) calls idempotent, and
 * only without a body, which is read once. The forwarder's relay and the gateway reuse kept-alive
 * upstream connections for these alone, and send one again on a new connection when a reused one
 * was closed before any answer.
 */
import type { IncomingMessage } from 'node:http';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** Whether the request carries no body at all. */
export function hasNoBody(request: IncomingMessage): boolean {
  if (request.headers['transfer-encoding'] !== undefined) return false;
  const length = request.headers['content-length'];
  return length === undefined || Number(length) === 0;
}

/** An idempotent request without a body: safe to send again on a new connection. */
export function isRepeatable(request: IncomingMessage): boolean {
  return IDEMPOTENT.has(request.method ?? '') && hasNoBody(request);
}
