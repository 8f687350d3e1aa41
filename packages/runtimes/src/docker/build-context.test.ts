import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { recipeFile } from './build-context.js';

describe('recipeFile', () => {
  const dirs: string[] = [];
  const context = (...files: string[]): string => {
    const dir = mkdtempSync(join(tmpdir(), 'paved-recipe-'));
    dirs.push(dir);
    for (const file of files) writeFileSync(join(dir, file), 'FROM scratch\n');
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('prefers a Containerfile, else takes the Dockerfile', () => {
    expect(recipeFile(context('Containerfile', 'Dockerfile'), 'w')).toBe('Containerfile');
    expect(recipeFile(context('Dockerfile'), 'w')).toBe('Dockerfile');
  });

  it('names the workload and both files when there is neither', () => {
    expect(() => recipeFile(context('README'), 'workload "web" container "main"')).toThrow(
      'workload "web" container "main" uses image "." but its build context has neither a Containerfile nor a Dockerfile',
    );
  });
});
