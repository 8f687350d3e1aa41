/**
 * Secrets-at-rest checks for tests: which files under a directory hold any of the given values.
 * Test-only (excluded from the build).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Every regular file under `dir` (recursively) whose bytes contain one of `values`, but those
 * whose name `skip` says to leave out (e.g. the database, checked on its own).
 *
 * @example
 * expect(filesHolding(dataDir, [SECRET], (name) => name.startsWith('paved.db'))).toEqual([]);
 */
export function filesHolding(
  dir: string,
  values: readonly string[],
  skip: (name: string) => boolean = () => false,
): string[] {
  const hits: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) hits.push(...filesHolding(path, values, skip));
    else if (entry.isFile() && !skip(entry.name) && holds(path, values)) hits.push(path);
  }
  return hits;
}

function holds(path: string, values: readonly string[]): boolean {
  try {
    const content = readFileSync(path);
    return values.some((value) => content.includes(value));
  } catch (error) {
    // A forwarder's temporary file may be renamed away between listing and reading it.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
