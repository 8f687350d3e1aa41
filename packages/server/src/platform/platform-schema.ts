/**
 * The published JSON schema of `paved.dev/v1` documents, for editors
 * (`# yaml-language-server: $schema=…`). It is generated from the zod schemas `POST /api/v1/apply`
 * validates with, so it cannot drift from what the server accepts; only what the CLI adds is
 * changed: no `file`, `line` or `secretRefs`, and secrets written as references, not values.
 */
import { z } from 'zod';
import {
  roleBindingDocumentSchema,
  teamDocumentSchema,
  userDocumentSchema,
} from '../auth/access-documents.js';
import { definitionDocumentSchema, secretReferenceSchema } from './apply-definitions.js';
import { environmentTypeDocumentSchema } from './apply-environment-types.js';
import { targetDocumentSchema, targetSpecSchema } from './apply-targets.js';

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

const targetFileSchema = targetDocumentSchema
  .omit({ file: true, line: true, secretRefs: true })
  .extend({
    spec: targetSpecSchema(secretReferenceSchema.meta({ description: 'A secret, as a reference only.' })),
  })
  .meta({ title: 'Target' });

// Users carry no password: files end up in git (`paved users set-password` sets one).
const userFileSchema = userDocumentSchema.omit({ file: true, line: true }).meta({ title: 'User' });

const teamFileSchema = teamDocumentSchema.omit({ file: true, line: true }).meta({ title: 'Team' });

const roleBindingFileSchema = roleBindingDocumentSchema
  .omit({ file: true, line: true })
  .meta({ title: 'RoleBinding' });

/** One document of a platform configuration file, as written by the platform team. */
export const platformFileDocumentSchema = z
  .discriminatedUnion('kind', [
    resourceDefinitionFileSchema,
    environmentTypeFileSchema,
    targetFileSchema,
    userFileSchema,
    teamFileSchema,
    roleBindingFileSchema,
  ])
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
