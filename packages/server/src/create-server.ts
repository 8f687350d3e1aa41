import { systemClock, type Clock } from '@paved/core';
import type { Store } from '@paved/store';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import { errorHandler, notFoundHandler } from './http/error-handling.js';
import type { PavedHonoEnv } from './http/hono-env.js';
import { DEFAULT_BODY_LIMIT_BYTES } from './http/read-body.js';
import { requestObserver } from './http/request-observer.js';
import { routeHandler } from './http/route-handler.js';
import { HttpMetrics } from './observability/http-metrics.js';
import { createLogger } from './observability/logger.js';
import { apiRoutes } from './routes/api-routes.js';
import { PROCESS_TARGET } from './routes/environment-routes.js';
import { toHonoPath } from './routes/route.js';
import { RouteRegistry } from './routes/route-registry.js';
import { SecretBox } from './secrets/secret-box.js';
import type { ContextStore } from './contexts/context-store.js';
import type { DeploymentEngine } from './deployments/deployment-engine.js';
import type { ServerContext } from './server-context.js';
import { SERVER_VERSION } from './version.js';

export interface CreateServerDeps {
  store: Store;
  /** The 32-byte key that wraps the data keys of secret values (`<data-dir>/master.key`). */
  masterKey: Uint8Array;
  clock?: Clock;
  logger?: Logger;
  /** Targets environments may use; `process` by default. Add `docker` when an engine is configured. */
  targets?: readonly string[];
  /** Serve `/metrics` without a token. */
  metricsPublic?: boolean;
  /** Largest request body accepted; 1 MiB by default. */
  bodyLimitBytes?: number;
  /**
   * The deployment engine and the uploaded contexts (`startServer` builds them around the data
   * directory); without them the deployment routes answer 503.
   */
  deployments?: (context: Omit<ServerContext, 'deployments' | 'contexts'>) => {
    engine: DeploymentEngine;
    contexts: ContextStore;
  };
}

export interface PavedServer {
  /** The HTTP app: serve it, or call `app.request()` in tests. */
  app: Hono<PavedHonoEnv>;
  registry: RouteRegistry;
  context: ServerContext;
}

/**
 * Builds the API server in memory, without listening: the route table, authentication and
 * authorisation on every route, validation, errors, logs and metrics. `startServer` adds the
 * store, the data directory and the socket around it.
 *
 * @example
 * const { app } = createServer({ store, masterKey });
 * const response = await app.request('/api/v1/health');
 */
export function createServer(deps: CreateServerDeps): PavedServer {
  const logger = deps.logger ?? createLogger();
  const metrics = new HttpMetrics();
  const registry = new RouteRegistry();
  const metricsPublic = deps.metricsPublic ?? false;
  for (const route of apiRoutes({ metricsPublic })) registry.register(route);

  const base: Omit<ServerContext, 'deployments' | 'contexts'> = {
    store: deps.store,
    clock: deps.clock ?? systemClock,
    secrets: new SecretBox(deps.masterKey),
    logger,
    registry,
    metrics,
    targets: deps.targets ?? [PROCESS_TARGET],
    metricsPublic,
    version: SERVER_VERSION,
  };
  const built = deps.deployments?.(base);
  const context: ServerContext = {
    ...base,
    ...(built === undefined ? {} : { deployments: built.engine, contexts: built.contexts }),
  };

  const app = new Hono<PavedHonoEnv>();
  app.use('*', requestObserver(logger, metrics));
  const bodyLimit = deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  for (const route of registry.routes) {
    app.on(route.method, toHonoPath(route.path), routeHandler(route, context, bodyLimit));
  }
  app.notFound(notFoundHandler);
  app.onError(errorHandler(logger));
  return { app, registry, context };
}
