/**
 * `paved apply` on the server: checks every document of the request first, reporting every
 * problem at once with its file and line, and stores nothing unless all of them are valid.
 */
import {
  definitionConflicts,
  PavedError,
  type Problem,
  type ResourceDefinition,
  type ResourceDriver,
} from '@paved/core';
import type { EnvType, ResourceDefinitionContent, SecretReference, Store } from '@paved/store';
import { z } from 'zod';
import { zodProblems } from '../http/zod-problems.js';
import { definitionFingerprint } from '../secrets/content-fingerprints.js';
import type { SecretBox } from '../secrets/secret-box.js';
import {
  checkEnvironmentTypeDocument,
  defaultTargetProblem,
  ENVIRONMENT_TYPE_KIND,
  putEnvironmentType,
} from './apply-environment-types.js';
import { checkTargetDocument, putTarget, TARGET_KIND, type CheckedTarget } from './apply-targets.js';
import {
  ACCESS_KINDS,
  checkAccessDocuments,
  isAccessDocument,
  writeAccessDocuments,
  type AccessKind,
} from '../auth/access-documents.js';

export const API_VERSION = 'paved.dev/v1';

const NAME_RULE =
  '1 to 63 lower-case letters, digits and hyphens, starting and ending with a letter or digit';
const TOKEN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const TOKEN_RULE = '1 to 63 letters, digits, ".", "_" and "-", starting with a letter or digit';

const token = (what: string) =>
  z.string({ error: `${what} must be a string` }).regex(TOKEN, { error: `${what} must be ${TOKEN_RULE}` });

const criterionSchema = z.strictObject({
  env_type: token('env_type').optional(),
  env: token('env').optional(),
  app: token('app').optional(),
  res_id: z.string().min(1, { error: 'res_id must not be empty' }).optional(),
  class: token('class').optional(),
});

/** Where the operator keeps a secret; what a YAML file writes in place of its value. */
export const secretReferenceSchema = z.union([
  z
    .strictObject({ env: z.string().min(1) })
    .meta({ description: 'The environment variable of `paved apply` that holds the secret.' }),
  z.strictObject({ file: z.string().min(1) }).meta({
    description:
      'A file holding the secret (one trailing newline removed); a relative path is relative to the YAML file.',
  }),
]);

/** One ResourceDefinition document as the CLI sends it: secrets already resolved to plain text. */
export const definitionDocumentSchema = z.strictObject({
  file: z.string().meta({ description: 'The file the document came from, for problems.' }),
  line: z.number().int().positive().optional().meta({ description: 'The line the document starts at.' }),
  secretRefs: z.record(z.string(), secretReferenceSchema).optional().meta({
    description:
      'Where the CLI read each secret (`{env}` or `{file}`), stored so `paved export` writes the reference back.',
  }),
  apiVersion: z.literal(API_VERSION, { error: `apiVersion must be ${API_VERSION}` }),
  kind: z.literal('ResourceDefinition', {
    error: `kind must be ResourceDefinition, ${ENVIRONMENT_TYPE_KIND}, ${TARGET_KIND}, ${ACCESS_KINDS.slice(0, -1).join(', ')} or ${ACCESS_KINDS[ACCESS_KINDS.length - 1]}`,
  }),
  metadata: z.strictObject({
    name: z
      .string({ error: 'metadata.name is required' })
      .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, { error: `metadata.name must be ${NAME_RULE}` }),
  }),
  spec: z.strictObject({
    type: token('spec.type'),
    class: token('spec.class').optional(),
    driver: z.string({ error: 'spec.driver is required: the id of a driver, e.g. echo' }).min(1),
    inputs: z
      .strictObject({
        values: z.record(z.string(), z.unknown()).optional(),
        secrets: z.record(z.string(), z.string({ error: 'a resolved secret must be a string' })).optional(),
      })
      .optional(),
    criteria: z.array(criterionSchema).optional(),
    stateful: z.boolean().optional(),
  }),
});

export type DefinitionDocument = z.output<typeof definitionDocumentSchema>;

/** The request body: documents are checked one by one so every problem carries its file and line. */
export const applyBodySchema = z.strictObject({
  documents: z
    .array(
      z.looseObject({
        file: z.string(),
        line: z.number().int().positive().optional(),
      }),
    )
    .min(1, { error: 'nothing to apply: give at least one document' })
    .max(5000, { error: 'at most 5000 documents per apply' }),
});

export type ApplyAction = 'created' | 'updated' | 'unchanged';

export interface ApplyResult {
  created: number;
  updated: number;
  unchanged: number;
  items: {
    kind: 'ResourceDefinition' | typeof ENVIRONMENT_TYPE_KIND | typeof TARGET_KIND | AccessKind;
    name: string;
    action: ApplyAction;
  }[];
}

export interface ApplyOptions {
  store: Store;
  secrets: SecretBox;
  drivers: ReadonlyMap<string, ResourceDriver>;
  actor: string;
  /**
   * The targets there are (built in and stored; `store` may be a transaction's): an environment
   * type's default target must be one of them or a target of the same apply.
   */
  targets: { names(store?: Store): Promise<string[]> };
}

/**
 * Validates every document of every kind — resource definitions, environment types, targets, and
 * the access documents (`User`, `Team`, `RoleBinding`, see `access-documents.ts`) — then writes
 * them all in one transaction. The caller checks the permissions access documents need
 * (`accessPermissions`).
 * @throws PavedError INVALID_INPUT listing every problem; nothing is stored then.
 */
export async function applyDefinitions(
  documents: readonly (Record<string, unknown> & { file: string; line?: number | undefined })[],
  options: ApplyOptions,
): Promise<ApplyResult> {
  const problems: Problem[] = [];
  const valid: {
    document: DefinitionDocument;
    definition: ResourceDefinition;
    secretRefs: Record<string, SecretReference>;
  }[] = [];
  const firstByName = new Map<string, DefinitionDocument>();
  const envTypes = new Map<
    string,
    { envType: EnvType; where: string; located: { file: string; line?: number } }
  >();
  const targets = new Map<string, { target: CheckedTarget; where: string }>();
  const accessDocuments: unknown[] = [];

  for (const raw of documents) {
    const where = { file: raw.file, ...(raw.line === undefined ? {} : { line: raw.line }) };
    if (isAccessDocument(raw)) {
      accessDocuments.push(raw);
      continue;
    }
    if (raw.kind === TARGET_KIND) {
      const checked = checkTargetDocument(raw);
      if ('problems' in checked) {
        problems.push(...checked.problems.map((problem) => ({ ...where, ...problem })));
        continue;
      }
      const earlier = targets.get(checked.name);
      if (earlier !== undefined) {
        problems.push({
          ...where,
          path: 'metadata.name',
          message: `target "${checked.name}" is also defined in ${earlier.where}: give each target one document`,
        });
        continue;
      }
      targets.set(checked.name, { target: checked, where: describe(checked.document) });
      continue;
    }
    if (raw.kind === ENVIRONMENT_TYPE_KIND) {
      const checked = checkEnvironmentTypeDocument(raw);
      if ('problems' in checked) {
        problems.push(...checked.problems.map((problem) => ({ ...where, ...problem })));
        continue;
      }
      const earlier = envTypes.get(checked.envType.name);
      if (earlier !== undefined) {
        problems.push({
          ...where,
          path: 'metadata.name',
          message: `environment type "${checked.envType.name}" is also defined in ${earlier.where}: give each environment type one document`,
        });
        continue;
      }
      envTypes.set(checked.envType.name, {
        envType: checked.envType,
        where: describe(checked.document),
        located: where,
      });
      continue;
    }
    const parsed = definitionDocumentSchema.safeParse(raw);
    if (!parsed.success) {
      problems.push(...zodProblems(parsed.error.issues).map((problem) => ({ ...where, ...problem })));
      continue;
    }
    const document = parsed.data;
    const name = document.metadata.name;
    const earlier = firstByName.get(name);
    if (earlier !== undefined) {
      problems.push({
        ...where,
        path: 'metadata.name',
        message: `resource definition "${name}" is also defined in ${describe(earlier)}: give each definition one document`,
      });
      continue;
    }
    firstByName.set(name, document);
    const documentProblems = driverProblems(document, options.drivers);
    const secrets = document.spec.inputs?.secrets ?? {};
    for (const key of Object.keys(document.secretRefs ?? {})) {
      if (!Object.hasOwn(secrets, key)) {
        documentProblems.push({
          path: `secretRefs.${key}`,
          message: `a reference for "${key}", which is no secret input`,
        });
      }
    }
    problems.push(...documentProblems.map((problem) => ({ ...where, ...problem })));
    if (documentProblems.length === 0) {
      valid.push({ document, definition: toDefinition(document), secretRefs: document.secretRefs ?? {} });
    }
  }

  // A default target may be one this apply creates, in any file.
  const targetNames = [...new Set([...(await options.targets.names()), ...targets.keys()])].sort();
  for (const { envType, located } of envTypes.values()) {
    const problem = defaultTargetProblem(envType, targetNames);
    if (problem !== undefined) problems.push({ ...located, ...problem });
  }

  // Ties are checked against what stays stored too; applied definitions come last so that a tie
  // is reported on (and located in) the document being applied.
  const stored = await options.store.definitions.list();
  const applied = new Set(valid.map(({ definition }) => definition.name));
  const byName = new Map(valid.map((entry) => [entry.definition.name, entry.document]));
  for (const problem of definitionConflicts([
    ...stored.filter((definition) => !applied.has(definition.name)),
    ...valid.map(({ definition }) => definition),
  ])) {
    const name = problem.path.slice(0, problem.path.indexOf('.criteria.'));
    const document = byName.get(name);
    problems.push({
      ...(document === undefined
        ? {}
        : { file: document.file, ...(document.line === undefined ? {} : { line: document.line }) }),
      path: `spec${problem.path.slice(name.length)}`,
      message: problem.message,
    });
  }

  // Access documents are checked with the rest, so one apply reports every problem of every
  // kind; a binding may name an environment type this apply creates.
  const access = await checkAccessDocuments(options.store, accessDocuments, {
    envTypes: new Set(envTypes.keys()),
  });
  problems.push(...access.problems);

  if (problems.length > 0) {
    const first = problems[0]!;
    throw PavedError.invalid(
      `${problems.length === 1 ? 'a problem' : `${problems.length} problems`} in the configuration, nothing was applied; first: ${describeProblem(first)}`,
      problems,
    );
  }

  const items = await options.store.transaction(async (store) => {
    const results: ApplyResult['items'] = [];
    // Targets first (environment types name them), then environment types (the definitions'
    // criteria may name those).
    for (const { target } of targets.values()) {
      results.push({
        kind: TARGET_KIND,
        name: target.name,
        action: await putTarget(store, target, options.secrets, options.actor),
      });
    }
    for (const { envType } of envTypes.values()) {
      results.push({
        kind: ENVIRONMENT_TYPE_KIND,
        name: envType.name,
        action: await putEnvironmentType(store, envType),
      });
    }
    for (const { definition, secretRefs } of valid) {
      const { version: _version, ...content } = definition;
      const sealed: ResourceDefinitionContent = {
        ...content,
        secretRefs,
        inputs: {
          values: content.inputs.values,
          secrets: Object.fromEntries(
            Object.entries(content.inputs.secrets).map(([key, value]) => [key, options.secrets.seal(value)]),
          ),
        },
      };
      const fingerprint = definitionFingerprint(options.secrets, { ...content, secretRefs });
      const { action } = await store.definitions.put(sealed, fingerprint, options.actor);
      results.push({ kind: 'ResourceDefinition', name: definition.name, action });
    }
    // Last: bindings may name the environment types written above.
    results.push(...(await writeAccessDocuments(store, access.checked, { actor: options.actor })));
    return results;
  });
  const count = (action: ApplyAction) => items.filter((item) => item.action === action).length;
  return { created: count('created'), updated: count('updated'), unchanged: count('unchanged'), items };
}

/** The driver must exist and accept the inputs; messages name keys, never secret values. */
function driverProblems(
  document: DefinitionDocument,
  drivers: ReadonlyMap<string, ResourceDriver>,
): Omit<Problem, 'file' | 'line'>[] {
  const { spec } = document;
  const driver = drivers.get(spec.driver);
  if (driver === undefined) {
    return [
      {
        path: 'spec.driver',
        message: `unknown driver "${spec.driver}"; the drivers are ${[...drivers.keys()].sort().join(', ')}`,
      },
    ];
  }
  const values = spec.inputs?.values ?? {};
  const secrets = spec.inputs?.secrets ?? {};
  const both = Object.keys(secrets).filter((key) => Object.hasOwn(values, key));
  if (both.length > 0) {
    return both.map((key) => ({
      path: `spec.inputs.secrets.${key}`,
      message: `input "${key}" is given both as a value and as a secret: keep one`,
    }));
  }
  // Refused here rather than at the first provisioning: by then it would be stored, and shown by
  // `paved definitions get` and `paved export`, in plain text.
  const plain = (driver.secretInputs ?? []).filter((key) => Object.hasOwn(values, key));
  if (plain.length > 0) {
    return plain.map((key) => ({
      path: `spec.inputs.values.${key}`,
      message: `input "${key}" of driver ${driver.id} is a secret: move it under spec.inputs.secrets as { env: NAME } or { file: PATH }, which the CLI reads on apply; under inputs.values it would be stored and shown in plain text`,
    }));
  }
  const parsed = driver.inputs.safeParse({ ...values, ...secrets });
  if (parsed.success) return [];
  return parsed.error.issues.map((issue) => {
    const key = issue.path[0];
    const section = typeof key === 'string' && Object.hasOwn(secrets, key) ? 'secrets' : 'values';
    const path =
      issue.path.length === 0 ? 'spec.inputs' : `spec.inputs.${section}.${issue.path.map(String).join('.')}`;
    return { path, message: `driver ${driver.id}: ${issue.message}` };
  });
}

function toDefinition(document: DefinitionDocument): ResourceDefinition {
  const { spec } = document;
  return {
    name: document.metadata.name,
    version: 0,
    type: spec.type,
    ...(spec.class === undefined ? {} : { class: spec.class }),
    driver: spec.driver,
    inputs: { values: spec.inputs?.values ?? {}, secrets: spec.inputs?.secrets ?? {} },
    criteria: (spec.criteria ?? []).map((criterion) =>
      Object.fromEntries(Object.entries(criterion).filter(([, value]) => value !== undefined)),
    ),
    // `stateful: false` is the default spelt out: the same content, so the same fingerprint.
    ...(spec.stateful === true ? { stateful: true } : {}),
  };
}

function describe(document: { file: string; line?: number | undefined }): string {
  return document.line === undefined ? document.file : `${document.file}:${document.line}`;
}

function describeProblem(problem: Problem): string {
  const where = [problem.file, problem.line].filter((part) => part !== undefined).join(':');
  return `${where === '' ? '' : `${where}: `}${problem.path === '' ? '' : `${problem.path}: `}${problem.message}`;
}
