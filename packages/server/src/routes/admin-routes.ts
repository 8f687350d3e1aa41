import { PavedError } from '@paved/core';
import { z } from 'zod';
import { defineRoute, type AnyRoute } from './route.js';

const countsSchema = z
  .object({
    values: z.number().int(),
    definitions: z.number().int(),
    targets: z.number().int(),
    resources: z.number().int(),
    deployments: z.number().int(),
  })
  .meta({
    description:
      "Sealed values re-wrapped, per kind: environment and app secrets, definitions' secret inputs, targets' secrets, resources' secret outputs, deployments' runtime specs.",
  });

/** Operations on the server itself, for administrators. */
export function adminRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/api/v1/admin/rotate-master-key',
      permission: 'master-key.rotate',
      summary: 'Rotate the master key: re-wrap every stored secret with a new one',
      description:
        'Writes a new master key beside the current one, re-wraps the data key of every sealed value in one transaction, then makes the new key current and removes the old one. Answers with counts, never values. Other replicas need the new master.key (see docs/adr/0013).',
      response: z.object({
        keyId: z.string(),
        previousKeyId: z.string(),
        rewrapped: countsSchema,
        resumed: z.boolean().meta({ description: 'Whether this finished an interrupted rotation.' }),
      }),
      handler: async ({ server, audit }) => {
        if (server.masterKeyRotation === undefined) {
          throw new PavedError(
            'UNAVAILABLE',
            'this server was started without a data directory holding its master key, so it cannot rotate it; run paved server with --data-dir',
          );
        }
        const result = await server.masterKeyRotation.rotate();
        audit.details.keyId = result.keyId;
        audit.details.previousKeyId = result.previousKeyId;
        audit.details.rewrapped = result.rewrapped;
        return result;
      },
    }),
  ];
}
