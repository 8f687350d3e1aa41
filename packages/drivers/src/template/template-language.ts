/**
 * The `template` driver's language: Score's `${…}` placeholders (the same parser as workload
 * variables and resource params, `$$` for a literal `$`, `\.` for a dot inside a key) over a scope
 * of named roots. A placeholder that is the whole string keeps the value's type; inside longer text,
 * values that are not strings are JSON-encoded.
 */
import { parseTemplate } from '@paved/core';

export interface TemplateScope {
  /** Root name → value, e.g. `params` → the resource's params. */
  roots: Record<string, unknown>;
  /** Whether the value at `path` is secret (a secret input, a dependency's secret output). */
  isSecret(path: readonly string[]): boolean;
  /** More words for a missing key at `path`, e.g. why `context.workload` can be absent. */
  hint?(path: readonly string[]): string | undefined;
}

export interface TemplateResult {
  value: unknown;
  /** The secret placeholders that went into the value, as written. */
  secretRefs: string[];
  /** One message per problem, each starting with where it is and the placeholder. */
  errors: string[];
}

export interface EvaluateOptions {
  /** A string that is one placeholder and nothing else gives the value itself, not its text. */
  keepType: boolean;
}

type Lookup = { found: true; value: unknown } | { found: false; message: string };

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `the text ${JSON.stringify(value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return typeof value === 'object' ? 'an object' : typeof value;
}

function lookup(path: readonly string[], scope: TemplateScope): Lookup {
  const [root, ...keys] = path;
  if (root === undefined || !Object.hasOwn(scope.roots, root)) {
    return {
      found: false,
      message: `unknown name "${root ?? ''}"; templates read ${Object.keys(scope.roots).join(', ')}`,
    };
  }
  let current = scope.roots[root];
  for (const [index, key] of keys.entries()) {
    const here = path.slice(0, index + 1).join('.');
    if (current === null || typeof current !== 'object' || Array.isArray(current)) {
      return { found: false, message: `${here} is ${describeValue(current)}, which has no key "${key}"` };
    }
    if (!Object.hasOwn(current, key)) {
      const known = Object.keys(current);
      const hint = scope.hint?.(path.slice(0, index + 2));
      return {
        found: false,
        message:
          `${here} has no key "${key}"; ${known.length === 0 ? 'it is empty' : `it has ${known.join(', ')}`}` +
          (hint === undefined ? '' : ` (${hint})`),
      };
    }
    current = (current as Record<string, unknown>)[key];
  }
  return { found: true, value: current };
}

function asText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function evaluateString(
  input: string,
  where: string,
  scope: TemplateScope,
  options: EvaluateOptions,
  result: TemplateResult,
): unknown {
  const { parts, problems } = parseTemplate(input);
  for (const problem of problems) result.errors.push(`${where}: ${problem.message}`);
  const values = parts.map((part) => {
    if (part.kind === 'text') return part.text;
    const found = lookup(part.path, scope);
    if (!found.found) {
      result.errors.push(`${where}: ${part.raw}: ${found.message}`);
      return '';
    }
    if (scope.isSecret(part.path)) result.secretRefs.push(part.raw);
    return found.value;
  });
  const [only] = parts;
  if (options.keepType && parts.length === 1 && only?.kind === 'ref') return values[0];
  return values.map(asText).join('');
}

function evaluateValue(
  value: unknown,
  where: string,
  scope: TemplateScope,
  options: EvaluateOptions,
  result: TemplateResult,
): unknown {
  if (typeof value === 'string') return evaluateString(value, where, scope, options, result);
  if (Array.isArray(value)) {
    return value.map((item, index) => evaluateValue(item, `${where}.${index}`, scope, options, result));
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        evaluateValue(item, `${where}.${key}`, scope, options, result),
      ]),
    );
  }
  return value;
}

/**
 * Expands every string inside `template` (a string, or lists and maps holding strings), reporting
 * every problem rather than stopping at the first.
 *
 * @example
 * evaluateTemplate('postgres://${params.host}:5432', scope, { keepType: false }, 'outputs.uri')
 * // → { value: 'postgres://db.internal:5432', secretRefs: [], errors: [] }
 */
export function evaluateTemplate(
  template: unknown,
  scope: TemplateScope,
  options: EvaluateOptions,
  where: string,
): TemplateResult {
  const result: TemplateResult = { value: undefined, secretRefs: [], errors: [] };
  result.value = evaluateValue(template, where, scope, options, result);
  return result;
}
