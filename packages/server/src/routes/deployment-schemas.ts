import { z } from 'zod';

export const deploymentStepSchema = z.object({
  name: z.string(),
  status: z.enum(['pending', 'running', 'succeeded', 'failed', 'skipped']),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  error: z.string().optional(),
});

export const deploymentSchema = z.object({
  app: z.string(),
  env: z.string(),
  number: z.number().int(),
  status: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']),
  setId: z.string(),
  message: z.string().optional(),
  actor: z.string(),
  createdAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  steps: z.array(deploymentStepSchema),
  error: z.string().optional(),
  workloads: z
    .array(z.string())
    .meta({ description: 'The workloads the environment runs after this deployment.' }),
  images: z
    .array(
      z.object({ workload: z.string(), container: z.string(), reference: z.string(), digest: z.string() }),
    )
    .optional()
    .meta({
      description:
        'The image each container ran, with its digest (a registry digest, else the image id), as the target recorded it; docker targets only.',
    }),
  valuesVersions: z.object({ app: z.number().int(), env: z.number().int() }).optional().meta({
    description:
      'The values versions (app-level and environment-level) pinned when the deployment was submitted; its run used exactly these. Absent on deployments recorded before versions were pinned.',
  }),
  definitions: z
    .array(z.object({ uid: z.string(), name: z.string(), version: z.number().int() }))
    .optional()
    .meta({
      description:
        'The resource definition (name and version) matched for each resource, from the stored graph; absent before the graph step ran.',
    }),
});

export const deploymentSetSchema = z.object({
  app: z.string(),
  id: z.string().meta({ description: 'The set id: `sha256:` of the workloads in canonical form.' }),
  createdAt: z.string(),
  createdBy: z.string(),
  workloads: z.array(
    z.object({
      name: z.string(),
      file: z.string().meta({ description: 'The file name the first deployment of the set read it from.' }),
      score: z.string().meta({ description: 'The Score file as uploaded.' }),
      contexts: z
        .record(z.string(), z.string())
        .meta({ description: 'Container → build-context hash, for `image: .` containers.' }),
      images: z
        .record(z.string(), z.string())
        .meta({ description: 'Container → image override (`--image`).' }),
      fileSources: z.record(z.string(), z.number().int()).meta({
        description: 'Files read with `source:`, by path: their size in bytes (contents not shown).',
      }),
    }),
  ),
});

export const deploymentPlanSchema = z.object({
  app: z.string(),
  env: z.string(),
  workloads: z.array(
    z.object({
      name: z.string(),
      action: z.string(),
      reason: z.string(),
      changes: z.array(
        z.object({ field: z.string(), before: z.string().optional(), after: z.string().optional() }),
      ),
    }),
  ),
  resources: z.array(z.object({ uid: z.string(), type: z.string(), action: z.string(), reason: z.string() })),
  summary: z.string(),
  noChanges: z
    .boolean()
    .meta({ description: 'Nothing to create, update, delete or detach: deploying this restarts nothing.' }),
});

export const statusSchema = z.object({
  app: z.string(),
  env: z.string(),
  deployment: z.number().int().nullable(),
  workloads: z.array(
    z.object({
      name: z.string(),
      state: z.enum(['starting', 'running', 'ready', 'failed', 'stopped']),
      ready: z.boolean(),
      deployment: z.number().int().optional(),
      endpoints: z.array(z.string()),
      containers: z.array(
        z.object({
          name: z.string(),
          state: z.string(),
          restarts: z.number().int(),
          exitCode: z.number().int().optional().meta({ description: 'How its last run ended.' }),
          probeFailures: z.number().int().optional(),
          lastProbeFailure: z
            .object({ probe: z.string(), status: z.string(), at: z.string() })
            .optional()
            .meta({ description: 'The last failed readiness or liveness check.' }),
        }),
      ),
      message: z.string().optional(),
    }),
  ),
});

export const activeResourceSchema = z.object({
  uid: z.string(),
  type: z.string(),
  class: z.string(),
  id: z.string(),
  definition: z.string(),
  definitionVersion: z.number().int(),
  driver: z.string(),
  status: z.string(),
  stateful: z.boolean(),
  outputs: z.record(z.string(), z.unknown()),
  secrets: z
    .record(z.string(), z.string())
    .meta({ description: 'Secret outputs, names only: every value reads (secret).' }),
  updatedAt: z.string(),
});

export const contextUploadSchema = z.object({ hash: z.string(), bytes: z.number().int() });
