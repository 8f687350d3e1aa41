import { appRoutes } from './app-routes.js';
import { definitionRoutes } from './definition-routes.js';
import { deploymentRoutes } from './deployment-routes.js';
import { envTypeRoutes } from './env-type-routes.js';
import { environmentRoutes } from './environment-routes.js';
import type { AnyRoute } from './route.js';
import { systemRoutes, type SystemRouteOptions } from './system-routes.js';
import { valueRoutes } from './value-routes.js';

/** Every route of the API, in the order the OpenAPI document lists them. */
export function apiRoutes(options: SystemRouteOptions): AnyRoute[] {
  return [
    ...systemRoutes(options),
    ...appRoutes(),
    ...envTypeRoutes(),
    ...environmentRoutes(),
    ...valueRoutes(),
    ...deploymentRoutes(),
    ...definitionRoutes(),
  ];
}
