import { systemClock, type Clock, type Runtime } from '@paved/core';
import type { Store } from '@paved/store';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import { AuditLog } from './audit/audit-log.js';
import { LoginLimiter, type LoginLimits } from './auth/login-limiter.js';
import { DEFAULT_SESSION_TTL_SECONDS } from './auth/sessions.js';
import { errorHandler, notFoundHandler } from './http/error-handling.js';
import type { PavedHonoEnv } from './http/hono-env.js';
import { DEFAULT_BODY_LIMIT_BYTES } from './http/read-body.js';
import { requestObserver } from './http/request-observer.js';
import { routeHandler } from './http/route-handler.js';
import { HttpMetrics } from './observability/http-metrics.js';
import { createLogger } from './observability/logger.js';
import { apiRoutes } from './routes/api-routes.js';
import { toHonoPath } from './routes/route.js';
import { RouteRegistry } from './routes/route-registry.js';
import type { MasterKeyFiles } from './secrets/master-key-files.js';
import { MasterKeyRotation } from './secrets/master-key-rotation.js';
import { SecretBox } from './secrets/secret-box.js';
import type { ContextStore } from './contexts/context-store.js';
import type { DeploymentEngine } from './deployments/deployment-engine.js';
import type { ServerContext } from './server-context.js';
import { TargetRuntimes, type RuntimeFactories } from './targets/target-runtimes.js';
import { SERVER_VERSION } from './version.js';

export interface CreateServerDeps {
  store: Store;
  /** The 32-byte key that wraps the data keys of secret values (`<data-dir>/master.key`). */
  masterKey: Uint8Array;
  /** The master-key files of the data directory, for `paved admin rotate-master-key`. */
  masterKeyFiles?: MasterKeyFiles;
  clock?: Clock;
  logger?: Logger;
  /** The runtime of the built-in `process` target; without it, deploying there is unavailable. */
  processRuntime?: Runtime;
  /** Makes runtimes for docker targets; without it, docker targets are listed but unavailable. */
  runtimeFactories?: RuntimeFactories;
  /**
   * The Docker host found on this machine (`detectDockerHost()`): the built-in `docker` target
   * exists when it is given, and docker targets without a host use it.
   */
  dockerHost?: string;
  /** Serve `/metrics` without a token. */
  metricsPublic?: boolean;
  /** Largest request body accepted; 1 MiB by default. */
  bodyLimitBytes?: number;
  /** When failed logins lock a user name or address; DEFAULT_LOGIN_LIMITS by default. */
  loginLimits?: LoginLimits;
  /** How long a portal session lasts; 12 hours by default. */
  sessionTtlSeconds?: number;
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

  const secrets = new SecretBox(deps.masterKey);
  const base: Omit<ServerContext, 'deployments' | 'contexts'> = {
    store: deps.store,
    clock: deps.clock ?? systemClock,
    secrets,
    logger,
    registry,
    metrics,
    targets: new TargetRuntimes({
      store: deps.store,
      secrets,
      logger,
      ...(deps.processRuntime === undefined ? {} : { process: deps.processRuntime }),
      ...(deps.runtimeFactories === undefined ? {} : { factories: deps.runtimeFactories }),
      ...(deps.dockerHost === undefined ? {} : { detectedDockerHost: deps.dockerHost }),
    }),
    metricsPublic,
    version: SERVER_VERSION,
    audit: new AuditLog(deps.store, logger),
    loginLimiter: new LoginLimiter(deps.store, deps.clock ?? systemClock, deps.loginLimits),
    sessionTtlSeconds: deps.sessionTtlSeconds ?? DEFAULT_SESSION_TTL_SECONDS,
    ...(deps.masterKeyFiles === undefined
      ? {}
      : {
          masterKeyRotation: new MasterKeyRotation({
            store: deps.store,
            box: secrets,
            files: deps.masterKeyFiles,
            logger,
          }),
        }),
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
