import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain ESM script without type declarations
import { checkBoundaries } from './check-boundaries.mjs';

const check = checkBoundaries as (root?: string) => string[];
let root: string;

function pkg(name: string, dependencies: Record<string, string>, files: Record<string, string>): void {
  const dir = join(root, 'packages', name);
  mkdirSync(join(dir, 'src', 'deep', 'er'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `@paved/${name}`, dependencies }));
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, 'src', file), text);
}

afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('package boundaries', () => {
  it('accepts allowed imports, including relative ones inside a package', () => {
    root = mkdtempSync(join(tmpdir(), 'paved-boundaries-'));
    pkg(
      'core',
      {},
      { 'index.ts': "export * from './errors.js';", 'deep/er/x.ts': "import '../../index.js';" },
    );
    pkg('store', { '@paved/core': '0.1.0' }, { 'index.ts': "import { PavedError } from '@paved/core';" });
    expect(check(root)).toEqual([]);
  });

  it('refuses core importing another package, in code and in package.json', () => {
    root = mkdtempSync(join(tmpdir(), 'paved-boundaries-'));
    pkg('core', { '@paved/store': '0.1.0' }, { 'index.ts': "import type { Store } from '@paved/store';" });
    const problems = check(root);
    expect(problems).toHaveLength(2);
    expect(problems.join('\n')).toMatch(/core may import only nothing of ours/);
    expect(problems.join('\n')).toMatch(/package.json depends on @paved\/store/);
  });

  it('refuses relative imports that leave the package and the CLI importing the server outside its command', () => {
    root = mkdtempSync(join(tmpdir(), 'paved-boundaries-'));
    pkg('drivers', {}, { 'index.ts': "import '../../runtimes/src/index.js';" });
    pkg('cli', {}, { 'main.ts': "import { startServer } from '@paved/server';" });
    const problems = check(root);
    expect(problems.join('\n')).toMatch(/reaches outside its package/);
    expect(problems.join('\n')).toMatch(/talks to the server through @paved\/client only/);
  });
});
