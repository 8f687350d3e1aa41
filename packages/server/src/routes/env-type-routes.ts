import type { EnvType } from '@paved/store';
import { z } from 'zod';
import { formatDuration } from '../duration.js';
import { requireEnvType } from './lookups.js';
import { defineRoute, type AnyRoute } from './route.js';
import { envTypeName, envTypeSchema, pageOf } from './schemas.js';

export function envTypeRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/env-types',
      permission: 'env-types.read',
      summary: 'List environment types in promotion order',
      response: pageOf(envTypeSchema),
      handler: async ({ server }) => {
        const types = await server.store.envTypes.list();
        return { items: [...types].sort((a, b) => a.position - b.position).map(envTypeToWire), next: null };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/env-types/{type}',
      permission: 'env-types.read',
      summary: 'Get an environment type',
      params: z.object({ type: envTypeName }),
      response: envTypeSchema,
      handler: async ({ params, server }) => envTypeToWire(await requireEnvType(server.store, params.type)),
    }),
  ];
}

export function envTypeToWire(envType: EnvType): z.input<typeof envTypeSchema> {
  return {
    name: envType.name,
    position: envType.position,
    ...(envType.description === undefined ? {} : { description: envType.description }),
    ...(envType.defaultTtlSeconds === undefined
      ? {}
      : { defaultTtl: formatDuration(envType.defaultTtlSeconds) }),
    ...(envType.defaultTarget === undefined ? {} : { defaultTarget: envType.defaultTarget }),
    requiresDeployer: envType.requiresDeployer,
  };
}
