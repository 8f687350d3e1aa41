import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../errors.js';
import { validateScore } from './index.js';

/**
 * Conformance against the Score specification's own samples and examples, kept outside the
 * repository in ../shared/reference/score (relative to the repository root). A fresh clone has no
 * such folder, so the test skips and says why; the project's own fixtures cover the same rules.
 */
const root = fileURLToPath(new URL('../../../../../shared/reference/score/', import.meta.url));
const exists = existsSync(root);
const DEPRECATED = 'spec-samples/score-deprecated-files-and-volumes.yaml';

function yamlFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return yamlFiles(path, `${prefix}${name}/`);
      return /\.ya?ml$/.test(name) ? [`${prefix}${name}`] : [];
    });
}

describe('Score reference conformance', () => {
  // Skipped when ../shared/reference/score is absent (a fresh clone): the data is not part of Paved.
  it.skipIf(!exists)('validates every reference file without errors', () => {
    const files = yamlFiles(root);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const { workload, problems } = validateScore(readFileSync(join(root, file), 'utf8'), { file });
      const errors = problems.filter((problem) => problem.severity === 'error').map(formatProblem);
      expect(errors, file).toEqual([]);
      expect(workload, file).toBeDefined();
      const warnings = problems.filter((problem) => problem.severity === 'warning');
      if (file === DEPRECATED) expect(warnings.length, file).toBeGreaterThan(0);
      else expect(warnings.map(formatProblem), file).toEqual([]);
    }
  });

  // Skipped when ../shared/reference/score is absent (a fresh clone): the data is not part of Paved.
  it.skipIf(!exists)('reads the deprecated list forms with a deprecation warning and normalises them', () => {
    const { workload, problems } = validateScore(readFileSync(join(root, DEPRECATED), 'utf8'));
    expect(
      problems.every((problem) => problem.severity === 'warning' && /deprecated/.test(problem.message)),
    ).toBe(true);
    expect(Object.keys(workload?.containers.main?.files ?? {})).toEqual(['/mnt/some-path']);
    expect(Object.keys(workload?.containers.main?.volumes ?? {})).toEqual(['/mnt/vol']);
  });
});
