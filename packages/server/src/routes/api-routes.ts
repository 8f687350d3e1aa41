import { refineAccess } from './access-refinements.js';
import { adminRoutes } from './admin-routes.js';
import { appRoutes } from './app-routes.js';
import { auditRoutes } from './audit-routes.js';
import { definitionRoutes } from './definition-routes.js';
import { deploymentDiffRoutes } from './deployment-diff-routes.js';
import { deploymentRoutes } from './deployment-routes.js';
import { envTypeRoutes } from './env-type-routes.js';
import { environmentRoutes } from './environment-routes.js';
import { releaseRoutes } from './release-routes.js';
import { resourceRoutes } from './resource-routes.js';
import type { AnyRoute } from './route.js';
import { roleBindingRoutes } from './role-binding-routes.js';
import { sessionRoutes } from './session-routes.js';
import { systemRoutes, type SystemRouteOptions } from './system-routes.js';
import { targetRoutes } from './target-routes.js';
import { teamRoutes } from './team-routes.js';
import { tokenRoutes } from './token-routes.js';
import { userRoutes } from './user-routes.js';
import { valueRoutes } from './value-routes.js';

/** Every route of the API, in the order the OpenAPI document lists them. */
export function apiRoutes(options: SystemRouteOptions): AnyRoute[] {
  return refineAccess([
    ...systemRoutes(options),
    ...appRoutes(),
    ...envTypeRoutes(),
    ...environmentRoutes(),
    ...valueRoutes(),
    ...deploymentRoutes(),
    ...deploymentDiffRoutes(),
    ...releaseRoutes(),
    ...resourceRoutes(),
    ...definitionRoutes(),
    ...targetRoutes(),
    ...sessionRoutes(),
    ...userRoutes(),
    ...teamRoutes(),
    ...tokenRoutes(),
    ...roleBindingRoutes(),
    ...auditRoutes(),
    ...adminRoutes(),
  ]);
}
