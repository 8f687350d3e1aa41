/**
 * An unpacked build context (the server's copy of what the CLI uploaded) as the tar stream the
 * Engine API's build endpoint reads, and which file in it is the build recipe.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { create } from 'tar';
import { PavedError } from '@paved/core';

const RECIPE_FILES = ['Containerfile', 'Dockerfile'] as const;

/** `Containerfile` when the context has one, else `Dockerfile`; an error naming both otherwise. */
export function recipeFile(dir: string, where: string): (typeof RECIPE_FILES)[number] {
  const found = RECIPE_FILES.find((name) => existsSync(join(dir, name)));
  if (found === undefined) {
    throw new PavedError(
      'INVALID_INPUT',
      `${where} uses image "." but its build context has neither a Containerfile nor a Dockerfile; add one next to the Score file (or in the --build folder)`,
    );
  }
  return found;
}

/** The context folder as an uncompressed tar stream, with portable (owner-free) entries. */
export function contextTar(dir: string): Readable {
  return create({ cwd: dir, portable: true }, readdirSync(dir)) as unknown as Readable;
}
