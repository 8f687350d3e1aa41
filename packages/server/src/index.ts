export { createServer, type CreateServerDeps, type PavedServer } from './create-server.js';
export {
  startServer,
  DEFAULT_HOST,
  DEFAULT_PORT,
  type ServerOptions,
  type RunningServer,
} from './start-server.js';
export {
  startGateway,
  SEPARATE_GATEWAY_REFRESH_MS,
  type GatewayProcessOptions,
  type RunningGateway,
} from './gateway/start-gateway.js';
export { DEFAULT_GATEWAY_PORT } from './gateway/gateway.js';
export {
  ensureAdministrator,
  ensureDataDir,
  loadOrCreateMasterKey,
  ADMINISTRATOR_NAME,
  CREDENTIALS_FILE,
  MASTER_KEY_FILE,
  type Credentials,
} from './bootstrap.js';
export {
  defineRoute,
  type AnyRoute,
  type RouteDefinition,
  type RoutePermission,
  type RouteContext,
} from './routes/route.js';
export { RouteRegistry } from './routes/route-registry.js';
export { openApiDocument } from './openapi/openapi-document.js';
export { SecretBox, masterKeyId } from './secrets/secret-box.js';
export { generateToken, hashToken, TOKEN_PREFIX } from './auth/tokens.js';
export { createLogger, type LoggerOptions } from './observability/logger.js';
export { parseDurationSeconds, formatDuration } from './duration.js';
export type { ServerContext } from './server-context.js';
export {
  platformJsonSchema,
  PLATFORM_SCHEMA_FILE,
  PLATFORM_SCHEMA_PATH,
} from './platform/platform-schema.js';
export { detectDockerHost } from './targets/docker-host.js';
export type { DockerTargetConfig, RuntimeFactories } from './targets/target-runtimes.js';
