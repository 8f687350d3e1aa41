#!/usr/bin/env node
// Enforces the package boundaries of docs/architecture.md: which of our packages each package may
// import, checked both in its package.json and in every import statement of its sources.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repositoryRoot = fileURLToPath(new URL('..', import.meta.url));

/** package → the packages of ours it may import. */
export const ALLOWED = {
  core: [],
  store: ['core'],
  drivers: ['core'],
  runtimes: ['core'],
  client: ['core'],
  server: ['core', 'store', 'drivers', 'runtimes'],
  // The CLI reaches the API only through the client; it imports the server solely to run
  // `paved server` / `paved gateway` in-process (see docs/adr/0002-package-boundaries.md).
  cli: ['core', 'client', 'server'],
};

/** Files of the CLI allowed to import @paved/server. */
const CLI_SERVER_IMPORTERS = new Set([
  'packages/cli/src/commands/server.ts',
  'packages/cli/src/commands/gateway.ts',
]);

function* sourceFiles(dir) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (entry === 'node_modules' || entry === 'dist') continue;
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (/\.(ts|tsx|mts|js|mjs)$/.test(entry)) yield path;
  }
}

/** Every boundary violation under `root` (a checkout of this repository's layout). */
export function checkBoundaries(root = repositoryRoot) {
  const problems = [];
  for (const [pkg, allowed] of Object.entries(ALLOWED)) {
    const dir = join(root, 'packages', pkg);
    if (!existsSync(dir)) continue;
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    for (const dep of Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })) {
      const ours = /^@paved\/([a-z-]+)$/.exec(dep)?.[1];
      if (ours !== undefined && !allowed.includes(ours)) {
        problems.push(`packages/${pkg}/package.json depends on @paved/${ours}, which ${pkg} may not use`);
      }
    }
    for (const file of sourceFiles(join(dir, 'src'))) {
      const rel = relative(root, file);
      const text = readFileSync(file, 'utf8');
      const imports = text.matchAll(/(?:from|import)\s*\(?\s*['"](@paved\/[a-z-]+|\.[^'"]*)/g);
      for (const [, spec] of imports) {
        if (spec.startsWith('.')) {
          if (relative(dir, resolve(dirname(file), spec)).startsWith('..')) {
            problems.push(`${rel} reaches outside its package with "${spec}"; import the package by name`);
          }
          continue;
        }
        const target = spec.slice('@paved/'.length);
        if (target === pkg) {
          problems.push(`${rel} imports its own package by name; use a relative import`);
        } else if (!allowed.includes(target)) {
          problems.push(
            `${rel} imports @paved/${target}; ${pkg} may import only ${allowed.join(', ') || 'nothing of ours'}`,
          );
        } else if (pkg === 'cli' && target === 'server' && !CLI_SERVER_IMPORTERS.has(rel)) {
          problems.push(
            `${rel} imports @paved/server; the CLI talks to the server through @paved/client only`,
          );
        }
      }
    }
  }
  return problems;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const problems = checkBoundaries(repositoryRoot);
  for (const problem of problems) console.error(`boundary: ${problem}`);
  if (problems.length > 0) process.exit(1);
  console.log('package boundaries: ok');
}
