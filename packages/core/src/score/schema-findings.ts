import type { z } from 'zod';
import type { Finding } from './finding.js';
import type { JsonPathSegment } from './json-path.js';
import { fieldsOf } from './score-schema.js';

type Issue = z.core.$ZodIssue;

/**
 * Turns zod issues into findings with actionable messages. Expects issues parsed with
 * `reportInput: true`, so a missing key (input `undefined`) can be told from a wrong value.
 */
export function schemaFindings(issues: readonly Issue[], prefix: JsonPathSegment[] = []): Finding[] {
  return issues.flatMap((issue) => issueFindings(issue, prefix));
}

function issueFindings(issue: Issue, prefix: JsonPathSegment[]): Finding[] {
  const path = [...prefix, ...issue.path.map(toSegment)];
  const error = (message: string, kind: 'value' | 'key' = 'value'): Finding => ({
    path,
    message,
    severity: 'error',
    target: { kind },
  });
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({
        path: [...path, key],
        message: unknownFieldMessage(issue.message, key),
        severity: 'error',
        target: { kind: 'key' },
      }));
    case 'invalid_key':
      return [error(issue.issues[0]?.message ?? 'this key is not allowed here', 'key')];
    case 'invalid_union':
      return unionFindings(issue, path);
    case 'invalid_type':
      if (issue.input === undefined) return [error(missingMessage(path))];
      return [error(typeMessage(issue.expected, issue.input, path))];
    case 'invalid_value':
      // A required enum or literal that is absent is a missing field, not a wrong value.
      return [error(issue.input === undefined ? missingMessage(path) : issue.message)];
    case 'too_small':
    case 'too_big':
    case 'invalid_format':
    case 'not_multiple_of':
    case 'invalid_element':
    case 'custom':
      return [error(issue.message)];
  }
}

function toSegment(key: PropertyKey): JsonPathSegment {
  return typeof key === 'symbol' ? String(key) : key;
}

/**
 * A union fails as a whole; report the branch the value was written for (a list or a mapping)
 * rather than "invalid input", so the user sees what is wrong inside it.
 */
function unionFindings(issue: Extract<Issue, { code: 'invalid_union' }>, path: JsonPathSegment[]): Finding[] {
  const attempted = issue.errors.filter(
    (branch) => !branch.every((inner) => inner.code === 'invalid_type' && inner.path.length === 0),
  );
  const [branch] = attempted;
  if (attempted.length === 1 && branch !== undefined) return schemaFindings(branch, path);
  const field = path.at(-1);
  const example =
    field === 'volumes' ? '"/data": { source: ${resources.data} }' : '"/etc/app.conf": { content: "…" }';
  const message =
    field === 'files' || field === 'volumes'
      ? `${field} must be a mapping of target path to ${field === 'files' ? 'file' : 'volume'}, e.g. ${example}, not ${describe(issue.input)}`
      : `this value has the wrong shape (${describe(issue.input)}): see docs/score-support.md`;
  return [{ path, message, severity: 'error', target: { kind: 'value' } }];
}

function unknownFieldMessage(kind: string, key: string): string {
  const known = fieldsOf(kind);
  if (known === undefined) return `unknown field "${key}": remove it`;
  const guess = closest(key, known.fields);
  const hint = guess === undefined ? '' : `did you mean "${guess}"? `;
  return `unknown field "${key}": ${hint}Score ${known.noun} have ${known.fields.join(', ')}`;
}

/** The accepted field within edit distance 2 of a misspelt one, if any. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** What to add for a missing required field, by where it is missing. */
function missingMessage(path: JsonPathSegment[]): string {
  const field = String(path.at(-1));
  const parent = path.at(-2);
  const hints: Record<string, string> = {
    apiVersion: `add apiVersion: score.dev/v1b1 at the top of the file`,
    metadata: 'add metadata: with at least name: <workload name>',
    containers: 'add containers: with at least one container and its image',
    image: "add image: <image reference>, or image: . to build from the workload's context",
    type: 'add type: <resource type>, e.g. type: postgres',
    ready: 'add ready: started, healthy or complete',
    source: 'add source: the volume to mount, e.g. source: ${resources.data}',
    value: 'add value: the header value',
  };
  let hint = hints[field];
  if (field === 'name') {
    hint =
      parent === 'metadata'
        ? 'add name: <workload name> (2 to 63 lowercase letters, digits or "-")'
        : 'add name: the header name';
  } else if (field === 'port') {
    hint =
      parent === 'httpGet' ? 'add port: the container port to probe' : 'add port: a number from 1 to 65535';
  } else if (field === 'path') {
    hint = 'add path: the HTTP path to probe, e.g. /healthz';
  } else if (field === 'command') {
    hint = 'add command: the command and its arguments as a list, e.g. ["/bin/check"]';
  }
  return `missing required field "${field}"${hint === undefined ? '' : `: ${hint}`}`;
}

function typeMessage(expected: string, input: unknown, path: JsonPathSegment[]): string {
  const nouns: Record<string, string> = {
    string: 'a string',
    number: 'a number',
    int: 'a whole number',
    boolean: 'true or false',
    array: 'a list',
    object: 'a mapping',
    record: 'a mapping',
  };
  const base = `must be ${nouns[expected] ?? expected}, not ${describe(input)}`;
  const field = path.at(-1);
  if (path.length === 0)
    return `the document ${base}: write apiVersion, metadata and containers as top-level keys`;
  if (field === 'mode' && typeof input === 'number') {
    return `${base}: quote the mode, e.g. "0644" (unquoted, YAML reads 0644 as the decimal number 644)`;
  }
  if (expected === 'string' && (typeof input === 'number' || typeof input === 'boolean')) {
    return `${base}: quote it, e.g. "${String(input)}"`;
  }
  if (
    (expected === 'number' || expected === 'int') &&
    typeof input === 'string' &&
    /^\d+$/.test(input.trim())
  ) {
    return `${base}: remove the quotes`;
  }
  if (expected === 'boolean' && typeof input === 'string')
    return `${base}: write true or false without quotes`;
  if (input === null) return `${base}: give it a value or remove the key`;
  if (expected === 'array' && typeof input === 'string') {
    const words = input.split(/\s+/).filter((word) => word !== '');
    return `${base}: write a list, e.g. [${words.map((word) => JSON.stringify(word)).join(', ')}]`;
  }
  if ((expected === 'record' || expected === 'object') && Array.isArray(input) && field === 'variables') {
    return `${base}: write NAME: value pairs, not a list`;
  }
  const fallback: Record<string, string> = {
    object: 'write key: value pairs',
    record: 'write key: value pairs',
    array: 'write a list, e.g. ["a", "b"]',
    string: 'write text, quoted if it looks like a number or boolean',
  };
  return fallback[expected] === undefined ? base : `${base}: ${fallback[expected]}`;
}

function describe(input: unknown): string {
  if (input === null || input === undefined) return 'empty';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'string')
    return `the string ${JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}…` : input)}`;
  if (typeof input === 'number') return `the number ${input}`;
  if (typeof input === 'boolean') return String(input);
  if (typeof input === 'object') return 'a mapping';
  return typeof input;
}
