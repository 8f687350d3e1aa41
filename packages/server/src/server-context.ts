import type { Clock } from '@paved/core';
import type { Store } from '@paved/store';
import type { Logger } from 'pino';
import type { ContextStore } from './contexts/context-store.js';
import type { DeploymentEngine } from './deployments/deployment-engine.js';
import type { HttpMetrics } from './observability/http-metrics.js';
import type { RouteRegistry } from './routes/route-registry.js';
import type { SecretBox } from './secrets/secret-box.js';

/** What route handlers may use; built once per server by `createServer`. */
export interface ServerContext {
  readonly store: Store;
  readonly clock: Clock;
  readonly secrets: SecretBox;
  readonly logger: Logger;
  readonly registry: RouteRegistry;
  readonly metrics: HttpMetrics;
  /** Names of the targets environments may use, e.g. `process` and `docker`. */
  readonly targets: readonly string[];
  readonly metricsPublic: boolean;
  /** The version of the server package, reported by the health route. */
  readonly version: string;
  /** Runs deployments; absent when the server was built without a data directory (some tests). */
  readonly deployments?: DeploymentEngine;
  /** Uploaded build contexts; absent like `deployments`. */
  readonly contexts?: ContextStore;
}
