import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import type { HttpMetrics } from '../observability/http-metrics.js';
import type { PavedHonoEnv } from './hono-env.js';

export const REQUEST_ID_HEADER = 'X-Request-Id';

// A caller's id is echoed into logs and headers, so only a plain, short one is taken over.
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The outermost middleware: gives each request an id (the caller's `X-Request-Id` when it is
 * acceptable, else a new UUID), echoes it on the response, and after the answer writes one log
 * line and the request metrics. Runs for every request, matched or not, failed or not.
 */
export function requestObserver(logger: Logger, metrics: HttpMetrics): MiddlewareHandler<PavedHonoEnv> {
  return async (c, next) => {
    const started = process.hrtime.bigint();
    const offered = c.req.header(REQUEST_ID_HEADER);
    const requestId = offered !== undefined && ACCEPTABLE_REQUEST_ID.test(offered) ? offered : randomUUID();
    c.set('requestId', requestId);
    await next();
    c.res.headers.set(REQUEST_ID_HEADER, requestId);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const status = c.res.status;
    metrics.observe(c.req.method, c.get('routePattern') ?? 'unmatched', status, seconds);
    logger.info(
      {
        requestId,
        method: c.req.method,
        path: c.req.path,
        route: c.get('routePattern'),
        status,
        durationMs: Math.round(seconds * 1e6) / 1e3,
      },
      'request',
    );
  };
}
