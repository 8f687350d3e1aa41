import { describe, expect, it } from 'vitest';
import { definitionConflicts } from './definition-conflicts.js';
import type { ResourceDefinition } from './resource-definition.js';

function definition(name: string, extra: Partial<ResourceDefinition> = {}): ResourceDefinition {
  return {
    name,
    version: 1,
    type: 'postgres',
    driver: 'echo',
    inputs: { values: {}, secrets: {} },
    criteria: [],
    ...extra,
  };
}

describe('definitionConflicts', () => {
  it('finds definitions of one type with the same criterion', () => {
    const problems = definitionConflicts([
      definition('a', { criteria: [{ env: 'dev' }, { app: 'shop' }] }),
      definition('b', { criteria: [{ app: 'shop', class: 'default' }] }),
    ]);
    expect(problems).toEqual([
      {
        path: 'b.criteria.0',
        message:
          'resource definition "b" ties with "a": both provision type postgres with criterion ' +
          'env_type=*,env=*,app=shop,res_id=*,class=default: make one more specific or remove it',
      },
    ]);
  });

  it('lets different types, classes, fallbacks and criteria coexist', () => {
    expect(
      definitionConflicts([
        definition('a'),
        definition('b', { type: 'redis' }),
        definition('c', { class: 'large' }),
        definition('d', { fallback: true }),
        definition('e', { criteria: [{ env: 'dev' }] }),
      ]),
    ).toEqual([]);
  });
});
