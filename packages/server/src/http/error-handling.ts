import { PavedError } from '@paved/core';
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';
import type { PavedHonoEnv } from './hono-env.js';

/**
 * The one place errors become responses. A PavedError answers with its code's status and its wire
 * shape; anything else is a bug, answered as 500 INTERNAL with the request id (so the log line
 * with the stack can be found) and nothing of the error itself.
 */
export function errorHandler(logger: Logger): ErrorHandler<PavedHonoEnv> {
  return (error, c) => {
    const requestId = c.get('requestId');
    if (error instanceof PavedError) {
      if (error.httpStatus >= 500) logger.error({ requestId, err: error }, 'request failed');
      return answer(c, error);
    }
    if (error instanceof HTTPException && error.status < 500) {
      // Hono's own refusals (it raises few); keep the contract's shape.
      return answer(c, new PavedError('INVALID_INPUT', error.message || 'the request was refused'));
    }
    logger.error({ requestId, err: error }, 'unexpected error');
    return answer(
      c,
      new PavedError(
        'INTERNAL',
        `the server failed to answer this request (request id ${requestId}); the server log has the details under that id`,
        { details: { requestId } },
      ),
    );
  };
}

export const notFoundHandler: NotFoundHandler<PavedHonoEnv> = (c) =>
  answer(
    c,
    new PavedError(
      'NOT_FOUND',
      `no route ${c.req.method} ${c.req.path}; the routes are listed in the OpenAPI document at /api/openapi.json`,
    ),
  );

function answer(c: Context<PavedHonoEnv>, error: PavedError): Response {
  if (error.code === 'UNAUTHENTICATED') c.header('WWW-Authenticate', 'Bearer realm="paved"');
  const retryAfter = error.details?.retryAfterSeconds;
  if (error.code === 'TOO_MANY_REQUESTS' && typeof retryAfter === 'number') {
    c.header('Retry-After', String(retryAfter));
  }
  return c.json(error.toJSON(), error.httpStatus as ContentfulStatusCode);
}
