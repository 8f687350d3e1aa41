import { CompiledQuery, type Compilable, type Kysely } from 'kysely';

import type { Database } from './database.js';
import type { RepositoryContext } from './repository-context.js';
import type { Dialect } from './store.js';

/**
 * A query built with Kysely once per dialect and then run with new parameters, for the few
 * queries every API request runs (finding its credential and its grants): building and compiling
 * a query costs several times what SQLite takes to answer it. `build` gets placeholder
 * `parameters` and must use each exactly once, in order; the parameters of every run take their
 * places.
 *
 * @example
 * const byHash = precompiled((db, [hash]) => db.selectFrom('tokens').selectAll().where('hash', '=', hash));
 * const rows = await byHash(context, ['9f86d0…']);
 */
export function precompiled<Row, Parameters extends readonly unknown[]>(
  build: (db: Kysely<Database>, parameters: Parameters) => Compilable<Row>,
  placeholders: Parameters,
): (context: RepositoryContext, parameters: Parameters) => Promise<Row[]> {
  const texts = new Map<Dialect, string>();
  return async (context, parameters) => {
    let text = texts.get(context.dialect);
    if (text === undefined) {
      const compiled = build(context.db, placeholders).compile();
      if (
        compiled.parameters.length !== placeholders.length ||
        compiled.parameters.some((value, index) => value !== placeholders[index])
      ) {
        throw new Error(
          `a precompiled query must use each of its ${placeholders.length} parameters once, in order; it uses ${JSON.stringify(compiled.parameters)}`,
        );
      }
      text = compiled.sql;
      texts.set(context.dialect, text);
    }
    const result = await context.db.executeQuery<Row>(CompiledQuery.raw(text, [...parameters]));
    return result.rows;
  };
}
