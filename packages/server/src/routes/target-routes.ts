import { SECRET_MASK } from '@paved/core';
import { z } from 'zod';
import type { KnownTarget, TargetRuntimes } from '../targets/target-runtimes.js';
import {
  KUBECONFIG_PATH,
  registryPasswordPath,
  type DockerSettings,
  type KubernetesSettings,
} from '../targets/target-settings.js';
import { defineRoute, type AnyRoute } from './route.js';
import { pageOf } from './schemas.js';

const secretReferenceSchema = z.union([z.object({ env: z.string() }), z.object({ file: z.string() })]);

export const targetSchema = z.object({
  name: z.string(),
  type: z.enum(['process', 'docker', 'kubernetes']),
  builtIn: z.boolean().meta({
    description: '`process`, and `docker` when an engine was found at start: not applied, not exported.',
  }),
  version: z
    .number()
    .int()
    .optional()
    .meta({ description: 'The applied version; absent for built-in targets.' }),
  available: z.boolean().meta({ description: 'Whether this server can deploy to it now.' }),
  reason: z.string().optional().meta({ description: 'Why it is not available, and what to do.' }),
  docker: z
    .object({
      host: z.string().optional().meta({ description: 'As applied; absent: auto-detected.' }),
      detectedHost: z
        .string()
        .optional()
        .meta({ description: 'The host found at start, used when `host` is absent.' }),
      registries: z.record(
        z.string(),
        z.object({
          username: z.string(),
          password: z.literal(SECRET_MASK),
          passwordRef: secretReferenceSchema.optional().meta({ description: 'Where the operator keeps it.' }),
        }),
      ),
      nodeImage: z
        .string()
        .optional()
        .meta({ description: "As applied; absent: the service addresses run on the server's own Node." }),
      sandboxImage: z
        .string()
        .optional()
        .meta({ description: "As applied; absent: a multi-container workload's first container image." }),
    })
    .optional(),
  kubernetes: z
    .object({
      kubeconfig: z.literal(SECRET_MASK),
      kubeconfigRef: secretReferenceSchema.optional(),
      context: z.string().optional(),
      namespacePrefix: z.string().optional(),
    })
    .optional(),
  createdAt: z.string().optional(),
  createdBy: z.string().optional(),
});

/** The targets environments may use. */
export function targetRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/targets',
      // Targets are platform configuration, read by the same people as resource definitions.
      permission: 'definitions.read',
      summary: 'List targets: built in (process; docker when found) and applied, secrets masked',
      description:
        'Applied targets replace a built-in one of the same name. `available` says whether this server can deploy to the target now (no kubernetes runtime exists yet).',
      response: pageOf(targetSchema),
      handler: async ({ server }) => ({
        items: (await server.targets.list()).map((target) => targetToWire(target, server.targets)),
        next: null,
      }),
    }),
  ];
}

/** Secrets leave as a mask and the reference they were applied from, never their value. */
export function targetToWire(target: KnownTarget, targets: TargetRuntimes): z.input<typeof targetSchema> {
  const { available, reason } = targets.availability(target);
  const ref = (path: string) => {
    const reference = target.secretRefs[path];
    return reference === undefined
      ? {}
      : { [path === KUBECONFIG_PATH ? 'kubeconfigRef' : 'passwordRef']: reference };
  };
  const base = {
    name: target.name,
    type: target.type,
    builtIn: target.builtIn,
    ...(target.version === undefined ? {} : { version: target.version }),
    available,
    ...(reason === undefined ? {} : { reason }),
    ...(target.createdAt === undefined ? {} : { createdAt: target.createdAt }),
    ...(target.createdBy === undefined ? {} : { createdBy: target.createdBy }),
  };
  switch (target.type) {
    case 'process':
      return base;
    case 'docker': {
      const settings = target.settings as DockerSettings;
      const detected = targets.detectedDockerHost;
      return {
        ...base,
        docker: {
          ...(settings.host === undefined ? {} : { host: settings.host }),
          ...(settings.host === undefined && detected !== undefined ? { detectedHost: detected } : {}),
          registries: Object.fromEntries(
            Object.entries(settings.registries ?? {}).map(([server, { username }]) => [
              server,
              { username, password: SECRET_MASK, ...ref(registryPasswordPath(server)) },
            ]),
          ),
          ...(settings.nodeImage === undefined ? {} : { nodeImage: settings.nodeImage }),
          ...(settings.sandboxImage === undefined ? {} : { sandboxImage: settings.sandboxImage }),
        },
      };
    }
    case 'kubernetes': {
      const settings = target.settings as KubernetesSettings;
      return {
        ...base,
        kubernetes: {
          kubeconfig: SECRET_MASK,
          ...ref(KUBECONFIG_PATH),
          ...(settings.context === undefined ? {} : { context: settings.context }),
          ...(settings.namespacePrefix === undefined ? {} : { namespacePrefix: settings.namespacePrefix }),
        },
      };
    }
  }
}
