import type { Problem } from '@paved/core';
import type { z } from 'zod';

/**
 * One problem per schema issue, located by JSON path (`set[2].key`). `prefix` names where the
 * value came from when it is not the body (`params`, `query`).
 */
export function zodProblems(issues: readonly z.core.$ZodIssue[], prefix?: string): Problem[] {
  return issues.map((issue) => ({
    path: jsonPath(prefix === undefined ? issue.path : [prefix, ...issue.path]),
    message: issue.message,
  }));
}

/** `['set', 2, 'key']` → `set[2].key`; keys that are not identifiers are quoted: `a["b-c"]`. */
export function jsonPath(segments: readonly PropertyKey[]): string {
  let path = '';
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(segment)) {
      path += path === '' ? segment : `.${segment}`;
    } else path += `[${JSON.stringify(String(segment))}]`;
  }
  return path;
}
