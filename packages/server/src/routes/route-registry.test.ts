import { PERMISSIONS } from '@paved/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { apiRoutes } from './api-routes.js';
import { defineRoute, type AnyRoute } from './route.js';
import { RouteRegistry } from './route-registry.js';

const ok = () =>
  defineRoute({
    method: 'GET',
    path: '/api/v1/things/{app}',
    permission: 'apps.read',
    summary: 'A thing',
    params: z.object({ app: z.string() }),
    response: z.object({}),
    handler: async () => ({}),
  });

function without(route: AnyRoute, key: keyof AnyRoute): AnyRoute {
  const copy = { ...route };
  delete copy[key];
  return copy;
}

describe('RouteRegistry', () => {
  it('refuses a route that declares no permission', () => {
    const registry = new RouteRegistry();
    expect(() => registry.register(without(ok(), 'permission'))).toThrow(
      /route GET \/api\/v1\/things\/\{app\} cannot be registered: it declares no permission; set "permission" to 'public' or one of self\.read/,
    );
    expect(() => registry.register({ ...ok(), permission: '' as never })).toThrow(/declares no permission/);
    expect(registry.routes).toHaveLength(0);
  });

  it('refuses a permission outside the PERMISSIONS table', () => {
    expect(() => new RouteRegistry().register({ ...ok(), permission: 'apps.everything' as never })).toThrow(
      /permission "apps.everything" is not in the PERMISSIONS table/,
    );
  });

  it('refuses a second route with the same method and path', () => {
    const registry = new RouteRegistry().register(ok());
    expect(() => registry.register(ok())).toThrow(/same method and path is registered already/);
    expect(registry.register({ ...ok(), method: 'DELETE', permission: 'apps.delete' }).routes).toHaveLength(
      2,
    );
  });

  it('refuses params that do not match the path', () => {
    expect(() => new RouteRegistry().register({ ...ok(), params: z.object({ name: z.string() }) })).toThrow(
      /"params" declares name but the path has app/,
    );
    expect(() => new RouteRegistry().register(without(ok(), 'params'))).toThrow(
      /its path has parameters app but "params" is not an object schema/,
    );
  });

  it('refuses a scoped permission it cannot scope', () => {
    const orgPath = { ...ok(), path: '/api/v1/things', params: undefined } as AnyRoute;
    expect(() => new RouteRegistry().register(orgPath)).toThrow(
      /apps.read is checked per app, so the path needs an \{app\}/,
    );
    expect(() => new RouteRegistry().register({ ...ok(), permission: 'envs.create' })).toThrow(
      /envs.create is checked per environment type, so the route needs a "scope"/,
    );
    expect(() =>
      new RouteRegistry().register({
        ...ok(),
        permission: 'envs.create',
        scope: async () => ({ envType: 'x' }),
      }),
    ).not.toThrow();
  });

  it('registers every API route, each with a known permission', () => {
    const registry = new RouteRegistry();
    for (const route of apiRoutes({ metricsPublic: false })) registry.register(route);
    expect(registry.routes.length).toBeGreaterThanOrEqual(20);
    for (const route of registry.routes) {
      expect(route.permission === 'public' || Object.hasOwn(PERMISSIONS, route.permission)).toBe(true);
    }
    const publicRoutes = registry.routes
      .filter((route) => route.permission === 'public')
      .map((route) => route.path);
    // The contract's public routes: health, the OpenAPI document, and logging in.
    expect(publicRoutes).toEqual([
      '/api/v1/health',
      '/api/openapi.json',
      '/api/v1/login',
      '/api/v1/sessions',
    ]);
  });

  it('makes /metrics public only when told to', () => {
    const metrics = (metricsPublic: boolean) =>
      apiRoutes({ metricsPublic }).find((route) => route.path === '/metrics')?.permission;
    expect(metrics(false)).toBe('metrics.read');
    expect(metrics(true)).toBe('public');
  });
});
