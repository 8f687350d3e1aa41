import { z } from 'zod';

/** Context hashes as the CLI computes them. */
const contextHash = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 lower-case hex digits>');

export const deploymentRequestSchema = z.strictObject({
  workloads: z
    .array(
      z.strictObject({
        file: z
          .string()
          .min(1)
          .max(1024)
          .meta({ description: 'The Score file name as the user gave it, for messages.' }),
        score: z.string().min(1).meta({ description: 'The Score YAML as read by the CLI.' }),
        contexts: z
          .record(z.string(), contextHash)
          .optional()
          .meta({ description: 'Container → hash of its uploaded build context, for `image: .`.' }),
        fileSources: z
          .record(z.string(), z.string())
          .optional()
          .meta({ description: 'Contents of files the Score file reads with `source:`, by that path.' }),
      }),
    )
    .max(200)
    .meta({ description: 'The workloads to add or update; the others are kept unless `prune`.' }),
  images: z
    .record(
      z.string().regex(/^[a-z0-9-]+(\.[a-z0-9-]+)?$/, 'must be WORKLOAD or WORKLOAD.CONTAINER'),
      z.string().min(1),
    )
    .optional()
    .meta({ description: 'Image overrides: `WORKLOAD` or `WORKLOAD.CONTAINER` → reference.' }),
  message: z.string().max(1000).optional(),
  prune: z
    .boolean()
    .optional()
    .meta({ description: 'Remove workloads of the environment that are not given.' }),
  plan: z.boolean().optional().meta({ description: 'Answer the plan and deploy nothing.' }),
});

export type DeploymentRequest = z.output<typeof deploymentRequestSchema>;

/** Score texts can be larger than ordinary requests; this route alone accepts up to 10 MiB. */
export const DEPLOYMENT_BODY_LIMIT_BYTES = 10 * 1024 * 1024;
