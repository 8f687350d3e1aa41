/**
 * Expands placeholders in one string against a workload's metadata and the outputs of the
 * resources it names. Shared by the provision stage (params) and the render stage (workloads),
 * so a placeholder means the same everywhere.
 */
import { parseTemplate } from '../placeholders/placeholders.js';
import { RUNTIME_EXTRAS_OUTPUT } from './runtime-extras.js';

/** What a plan shows for an output of a resource not provisioned yet. */
export const UNKNOWN_OUTPUT = '(known after provisioning)';

/** The outputs of one resource, as placeholders see them. */
export interface ResourceOutputs {
  uid: string;
  type: string;
  outputs: Record<string, unknown>;
  secrets: Record<string, string>;
  /**
   * Plan only: the resource is not provisioned and its driver cannot list its outputs, so any
   * output name is accepted and resolves to UNKNOWN_OUTPUT.
   */
  partial?: boolean;
}

export interface ExpandScope {
  /** The workload's metadata, for `${metadata.*}`. */
  metadata: Record<string, unknown>;
  /** Resource name (as the workload calls it) → its outputs. */
  resources: ReadonlyMap<string, ResourceOutputs> | Record<string, ResourceOutputs>;
}

export interface ExpandOptions {
  /** The output a bare `${resources.<name>}` stands for (a volume source uses `source`). */
  whole?: string;
  /** When the string is one placeholder and nothing else, keep the value's type (params). */
  keepType?: boolean;
}

export interface Expansion {
  value: unknown;
  /** Whether any secret output went into the value. */
  secret: boolean;
  /** One message per placeholder that could not be resolved, each starting with the placeholder. */
  errors: string[];
}

type Lookup = { value: unknown; secret: boolean } | { error: string };

function resourcesOf(scope: ExpandScope, name: string): ResourceOutputs | undefined {
  const { resources } = scope;
  if (resources instanceof Map) return (resources as ReadonlyMap<string, ResourceOutputs>).get(name);
  return Object.hasOwn(resources, name) ? (resources as Record<string, ResourceOutputs>)[name] : undefined;
}

function listOutputs(resource: ResourceOutputs): string {
  const names = [...Object.keys(resource.outputs), ...Object.keys(resource.secrets)].filter(
    (name) => name !== RUNTIME_EXTRAS_OUTPUT,
  );
  return names.length === 0 ? 'it has no outputs' : `its outputs are ${names.join(', ')}`;
}

/** Walks `keys` into `value`; `undefined` when a key is missing. */
function walk(value: unknown, keys: readonly string[]): { found: boolean; value: unknown; missing?: string } {
  let current = value;
  for (const key of keys) {
    if (current === UNKNOWN_OUTPUT) return { found: true, value: UNKNOWN_OUTPUT };
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key)) {
      return { found: false, value: undefined, missing: key };
    }
    current = (current as Record<string, unknown>)[key];
  }
  return { found: true, value: current };
}

function lookupResource(path: readonly string[], scope: ExpandScope, options: ExpandOptions): Lookup {
  const name = path[1];
  if (name === undefined || name === '') return { error: 'name a resource, e.g. ${resources.db.host}' };
  const resource = resourcesOf(scope, name);
  if (resource === undefined) {
    const { resources } = scope;
    const known =
      resources instanceof Map
        ? [...(resources as ReadonlyMap<string, ResourceOutputs>).keys()]
        : Object.keys(resources);
    return {
      error: `no resource "${name}"; ${known.length === 0 ? 'the workload declares no resources' : `its resources are ${known.join(', ')}`}`,
    };
  }
  const keys = path.length === 2 && options.whole !== undefined ? [options.whole] : path.slice(2);
  const [output, ...rest] = keys;
  if (output === undefined) {
    return {
      error: `name an output of resource "${name}" (${resource.type}), e.g. \${resources.${name}.<output>}; ${listOutputs(resource)}`,
    };
  }
  if (output === RUNTIME_EXTRAS_OUTPUT) {
    // Extras are for the target, not the workload: the render stage merges them in.
    return {
      error: `resource "${name}" (${resource.type}) has no output "${output}": runtime extras are added to the workload by Paved, not read through placeholders; ${listOutputs(resource)}`,
    };
  }
  const secret = Object.hasOwn(resource.secrets, output);
  const inOutputs = Object.hasOwn(resource.outputs, output);
  if (!secret && !inOutputs) {
    if (resource.partial === true) return { value: UNKNOWN_OUTPUT, secret: false };
    if (path.length === 2) {
      return {
        error: `resource "${name}" (${resource.type}) has no output "${output}" to stand for it here; ${listOutputs(resource)}: use a volume resource or name an output`,
      };
    }
    return {
      error: `resource "${name}" (${resource.type}) has no output "${output}"; ${listOutputs(resource)}`,
    };
  }
  const start = secret ? resource.secrets[output] : resource.outputs[output];
  const found = walk(start, rest);
  if (!found.found) {
    return {
      error: `output "${output}" of resource "${name}" (${resource.type}) has no key "${found.missing ?? ''}"`,
    };
  }
  return { value: found.value, secret };
}

function lookup(path: readonly string[], scope: ExpandScope, options: ExpandOptions): Lookup {
  const root: string = path[0] ?? '';
  switch (root) {
    case 'metadata': {
      const found = walk(scope.metadata, path.slice(1));
      if (!found.found || path.length === 1) {
        return {
          error: `the workload has no metadata "${path.slice(1).join('.')}"; it has ${Object.keys(scope.metadata).join(', ')}`,
        };
      }
      return { value: found.value, secret: false };
    }
    case 'resources':
      return lookupResource(path, scope, options);
    default:
      return { error: 'unknown placeholder: write ${metadata.<key>} or ${resources.<name>.<output>}' };
  }
}

/**
 * Replaces every placeholder of `input`. Values that are not strings are JSON-encoded; with
 * `keepType`, a string that is exactly one placeholder takes the value as it is.
 */
export function expandTemplate(input: string, scope: ExpandScope, options: ExpandOptions = {}): Expansion {
  // Most strings hold no placeholder and no `$$` escape; skip the parser for them.
  if (!input.includes('$')) return { value: input, secret: false, errors: [] };
  const { parts, problems } = parseTemplate(input);
  const errors = problems.map((problem) => problem.message);
  let secret = false;
  const values: unknown[] = [];
  for (const part of parts) {
    if (part.kind === 'text') {
      values.push(part.text);
      continue;
    }
    const found = lookup(part.path, scope, options);
    if ('error' in found) {
      errors.push(`${part.raw}: ${found.error}`);
      values.push('');
      continue;
    }
    secret ||= found.secret;
    values.push(found.value);
  }
  const [only] = values;
  if (options.keepType === true && parts.length === 1 && parts[0]?.kind === 'ref') {
    return { value: only, secret, errors };
  }
  const text = values
    .map((value) => (typeof value === 'string' ? value : (JSON.stringify(value) ?? '')))
    .join('');
  return { value: text, secret, errors };
}
