import type { Clock } from '@paved/core';
import type { Store } from '@paved/store';
import type { Logger } from 'pino';
import type { AuditLog } from './audit/audit-log.js';
import type { LoginLimiter } from './auth/login-limiter.js';
import type { ContextStore } from './contexts/context-store.js';
import type { DeploymentEngine } from './deployments/deployment-engine.js';
import type { HttpMetrics } from './observability/http-metrics.js';
import type { RouteRegistry } from './routes/route-registry.js';
import type { MasterKeyRotation } from './secrets/master-key-rotation.js';
import type { SecretBox } from './secrets/secret-box.js';
import type { TargetRuntimes } from './targets/target-runtimes.js';

/** What route handlers may use; built once per server by `createServer`. */
export interface ServerContext {
  readonly store: Store;
  readonly clock: Clock;
  readonly secrets: SecretBox;
  readonly logger: Logger;
  readonly registry: RouteRegistry;
  readonly metrics: HttpMetrics;
  /** The targets environments may use (built in and applied), and their runtimes. */
  readonly targets: TargetRuntimes;
  readonly metricsPublic: boolean;
  /** The version of the server package, reported by the health route. */
  readonly version: string;
  /** The hash-chained audit log every state-changing request and refusal is recorded in. */
  readonly audit: AuditLog;
  /** Counts failed password logins and locks names and addresses that fail too often. */
  readonly loginLimiter: LoginLimiter;
  /** How long a portal session lasts. */
  readonly sessionTtlSeconds: number;
  /** Runs deployments; absent when the server was built without a data directory (some tests). */
  readonly deployments?: DeploymentEngine;
  /** Uploaded build contexts; absent like `deployments`. */
  readonly contexts?: ContextStore;
  /** Rotates the master key; absent when the server has no data directory (some tests). */
  readonly masterKeyRotation?: MasterKeyRotation;
}
