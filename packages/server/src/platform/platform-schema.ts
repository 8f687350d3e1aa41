/**
 * The published JSON schema of `paved.dev/v1` documents, for editors
 * (`# yaml-language-server: $schema=…`). It is generated from the zod schemas `POST /api/v1/apply`
 * validates with, so it cannot drift from what the server accepts; only what the CLI adds is
 * changed: no `file`, `line` or `secretRefs`, and secrets written as references, not values.
 */
import { z } from 'zod';
import { definitionDocumentSchema, secretReferenceSchema } from './apply-definitions.js';
import { environmentTypeDocumentSchema } from './apply-environment-types.js';

/** Where the committed copy lives, relative to the repository root (`npm run schema` writes it). */
export const PLATFORM_SCHEMA_FILE = 'docs/schema/paved-v1.schema.json';

/** Where the server serves it. */
export const PLATFORM_SCHEMA_PATH = '/api/v1/schema/paved-v1.json';

const resourceDefinitionFileSchema = definitionDocumentSchema
  .omit({ file: true, line: true, secretRefs: true })
  .extend({
    spec: definitionDocumentSchema.shape.spec.extend({
      inputs: definitionDocumentSchema.shape.spec.shape.inputs
        .unwrap()
        .extend({
          secrets: z
            .record(z.string(), secretReferenceSchema)
            .optional()
            .meta({ description: 'Secret inputs, as references only: never a value in the file.' }),
        })
        .optional()
        .meta({ description: "Inputs of the driver, checked against the driver's own schema at apply." }),
    }),
  })
  .meta({ title: 'ResourceDefinition' });

const environmentTypeFileSchema = environmentTypeDocumentSchema
  .omit({ file: true, line: true })
  .meta({ title: 'EnvironmentType' });

/** One document of a platform configuration file, as written by the platform team. */
export const platformFileDocumentSchema = z
  .discriminatedUnion('kind', [resourceDefinitionFileSchema, environmentTypeFileSchema])
  .meta({
    title: 'Paved platform configuration (paved.dev/v1)',
    description:
      'One document of `paved apply -f FILE|DIR`; see docs/platform-configuration.md. Driver inputs are checked by the server against the driver named.',
  });

/**
 * The JSON schema (draft-07, which the YAML language server and most editors read). Deterministic:
 * the same zod schemas always give the same document, so a unit test can compare the committed
 * file with it.
 */
export function platformJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(platformFileDocumentSchema, { target: 'draft-7', io: 'input' });
}
