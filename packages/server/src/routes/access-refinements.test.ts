import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { refineAccess } from './access-refinements.js';
import { apiRoutes } from './api-routes.js';
import { defineRoute } from './route.js';

describe('refineAccess', () => {
  it("asks for resources.delete besides envs.delete when an environment's data goes with it", () => {
    const route = apiRoutes({ metricsPublic: false }).find(
      (candidate) => candidate.method === 'DELETE' && candidate.path === '/api/v1/apps/{app}/envs/{env}',
    );
    const input = (deleteData?: string) => ({
      params: { app: 'shop', env: 'dev' },
      query: deleteData === undefined ? {} : { deleteData },
      body: undefined,
    });
    expect(route?.alsoRequires?.(input('true'))).toBe('resources.delete');
    expect(route?.alsoRequires?.(input('false'))).toBeUndefined();
    expect(route?.alsoRequires?.(input())).toBeUndefined();
  });

  it('refuses to start when a rule has lost its route', () => {
    const lonely = defineRoute({
      method: 'GET',
      path: '/api/v1/apps',
      permission: 'apps.list',
      summary: 'List apps',
      response: z.unknown(),
      handler: async () => ({}),
    });
    expect(() => refineAccess([lonely])).toThrow(
      /^the access rule for DELETE \/api\/v1\/apps\/\{app\}\/envs\/\{env\} \(deleting an environment's data/,
    );
  });
});
