import { PavedError, type ProvisionRequest, type ResourceDriver } from '@paved/core';
import { z } from 'zod';
import { parseDriverInputs } from '../support/parse-driver-inputs.js';
import { recordWithKeys } from '../support/record-with-keys.js';
import { RUNTIME_EXTRAS_OUTPUT, runtimeExtrasSchema, runtimeExtrasTemplateSchema } from './runtime-extras.js';
import { evaluateTemplate, type TemplateScope } from './template-language.js';

export const TEMPLATE_DRIVER_ID = 'template';

const outputName = (name: string): string | undefined =>
  name === ''
    ? 'must not be empty'
    : name.startsWith('$')
      ? 'output names starting with "$" are reserved for Paved'
      : undefined;

/**
 * `outputs`, `secretOutputs` and `extras` are the driver's own; every other key is a secret input
 * the templates read as `${secrets.<key>}`.
 */
const inputs = z
  .object({
    outputs: recordWithKeys(outputName, z.unknown()).default({}),
    secretOutputs: recordWithKeys(outputName, z.string()).default({}),
    extras: runtimeExtrasTemplateSchema.optional(),
  })
  .catchall(z.string());

type TemplateInputs = z.output<typeof inputs>;
const OWN_KEYS = new Set(['outputs', 'secretOutputs', 'extras']);

function fail(message: string, details: Record<string, unknown>): PavedError {
  return new PavedError('INVALID_INPUT', message, { details: { driver: TEMPLATE_DRIVER_ID, ...details } });
}

function checkInputs(request: Pick<ProvisionRequest, 'inputs'>): TemplateInputs {
  const parsed = parseDriverInputs(TEMPLATE_DRIVER_ID, inputs, request.inputs);
  const plain = Object.keys(request.inputs.values).filter((key) => !OWN_KEYS.has(key));
  if (plain.length > 0) {
    throw fail(
      `driver "template" got unknown inputs ${plain.join(', ')} under values: its inputs are outputs, secretOutputs and extras; ` +
        'put values the templates read as ${secrets.<key>} under secrets',
      { keys: plain },
    );
  }
  const both = Object.keys(parsed.outputs).filter((key) => Object.hasOwn(parsed.secretOutputs, key));
  if (both.length > 0) {
    throw fail(
      `driver "template": ${both.join(', ')} ${both.length === 1 ? 'is' : 'are'} in both outputs and secretOutputs: keep each output in one of them`,
      { keys: both },
    );
  }
  return parsed;
}

function hasSecrets(dependency: { secrets: Record<string, string> }): boolean {
  return Object.keys(dependency.secrets).length > 0;
}

function scopeOf(request: ProvisionRequest): TemplateScope {
  const { resource, context } = request;
  const secretInputs = Object.fromEntries(
    Object.entries(request.inputs.secrets).filter(([key]) => !OWN_KEYS.has(key)),
  );
  const resources = Object.fromEntries(
    Object.entries(context.dependencies).map(([name, dependency]) => [
      name,
      { ...dependency.outputs, ...dependency.secrets },
    ]),
  );
  return {
    roots: {
      resource: { uid: resource.uid, type: resource.type, class: resource.class, id: resource.id },
      params: resource.params,
      metadata: resource.metadata,
      context: {
        app: context.app,
        env: context.env,
        envType: context.envType,
        target: { ...context.target },
        ...(context.workload === undefined ? {} : { workload: context.workload }),
      },
      resources,
      secrets: secretInputs,
    },
    isSecret: ([root, name, key]) => {
      if (root === 'secrets') return true;
      if (root !== 'resources') return false;
      // A whole dependency (or all of them) carries its secrets along.
      if (name === undefined) return Object.values(context.dependencies).some(hasSecrets);
      const dependency = Object.hasOwn(context.dependencies, name) ? context.dependencies[name] : undefined;
      if (dependency === undefined) return false;
      return key === undefined ? hasSecrets(dependency) : Object.hasOwn(dependency.secrets, key);
    },
    hint: ([root, key]) => {
      if (root === 'context' && key === 'workload') {
        return 'the resource is shared, so no single workload asks for it';
      }
      if (root === 'resources') {
        return "a template reads the outputs of the resources the resource's params name";
      }
      return undefined;
    },
  };
}

/**
 * `template`: computes outputs, secret outputs and runtime extras from templates over the
 * resource's params, metadata, context and its dependencies' outputs, in Score's `${…}` placeholder
 * language. Outputs that would carry a secret must be secret outputs; extras may carry none.
 *
 * @example
 * // definition inputs:
 * // values:  { outputs: { host: 'db-${context.env}.internal', port: 5432 },
 * //            secretOutputs: { uri: 'postgres://app:${secrets.password}@db-${context.env}.internal/app' } }
 * // secrets: { password: { env: PG_PASSWORD } }
 */
export function createTemplateDriver(): ResourceDriver {
  return {
    id: TEMPLATE_DRIVER_ID,
    inputs,
    outputNames: (request) => {
      const parsed = inputs.safeParse({ ...request.inputs.values, ...request.inputs.secrets });
      if (!parsed.success) return { values: [], secrets: [] };
      const values = Object.keys(parsed.data.outputs);
      if (parsed.data.extras !== undefined) values.push(RUNTIME_EXTRAS_OUTPUT);
      return { values, secrets: Object.keys(parsed.data.secretOutputs) };
    },
    async provision(request, signal) {
      signal.throwIfAborted();
      const templates = checkInputs(request);
      const scope = scopeOf(request);
      const errors: string[] = [];
      const outputs: Record<string, unknown> = {};
      const secrets: Record<string, string> = {};

      for (const [name, template] of Object.entries(templates.outputs)) {
        const where = `outputs.${name}`;
        const result = evaluateTemplate(template, scope, { keepType: true }, where);
        errors.push(...result.errors);
        if (result.secretRefs.length > 0) {
          errors.push(
            `${where}: uses the secret ${result.secretRefs.join(', ')}: move the output to secretOutputs, whose values are kept secret`,
          );
        }
        outputs[name] = result.value;
      }
      for (const [name, template] of Object.entries(templates.secretOutputs)) {
        const result = evaluateTemplate(template, scope, { keepType: false }, `secretOutputs.${name}`);
        errors.push(...result.errors);
        secrets[name] = String(result.value);
      }
      if (templates.extras !== undefined) {
        const result = evaluateTemplate(templates.extras, scope, { keepType: false }, 'extras');
        errors.push(...result.errors);
        if (result.secretRefs.length > 0) {
          errors.push(
            `extras: uses the secret ${result.secretRefs.join(', ')}: runtime extras are not kept secret; pass secrets to workloads through secretOutputs`,
          );
        }
        const extras = runtimeExtrasSchema.safeParse(result.value);
        if (!extras.success) {
          for (const issue of extras.error.issues) {
            errors.push(`extras.${issue.path.join('.')}: after expansion ${issue.message}`);
          }
        }
        outputs[RUNTIME_EXTRAS_OUTPUT] = result.value;
      }

      if (errors.length > 0) {
        throw fail(
          `driver "template" could not compute the outputs of resource "${request.resource.uid}": ${errors.join('; ')}: fix the definition's templates or the resource's params`,
          { uid: request.resource.uid, errors },
        );
      }
      return { outputs, secrets, state: {} };
    },
    async deprovision(_request, signal) {
      signal.throwIfAborted();
    },
  };
}
