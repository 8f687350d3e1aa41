import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { jsonPath, zodProblems } from './zod-problems.js';

describe('zodProblems', () => {
  it('writes JSON paths the way the API documents them', () => {
    expect(jsonPath([])).toBe('');
    expect(jsonPath(['set', 2, 'key'])).toBe('set[2].key');
    expect(jsonPath([0, 'name'])).toBe('[0].name');
    expect(jsonPath(['labels', 'app.kubernetes.io/name'])).toBe('labels["app.kubernetes.io/name"]');
  });

  it('gives one problem per issue, prefixed with where the value came from', () => {
    const result = z.object({ limit: z.number(), after: z.string() }).safeParse({ limit: 'x' });
    expect(result.success).toBe(false);
    const problems = zodProblems(result.error!.issues, 'query');
    expect(problems.map((problem) => problem.path)).toEqual(['query.limit', 'query.after']);
    for (const problem of problems) expect(problem.message).toEqual(expect.any(String));
  });
});
