import { describe, expect, it } from 'vitest';
import { PavedError } from '../errors.js';
import { requestResources } from '../request/resource-requests.js';
import { scoreWorkload } from '../request/testing/score-workload.js';
import { matchDefinition, resolveDefinitions, specificityOf } from './match-definition.js';
import type { Criteria, ResourceDefinition } from './resource-definition.js';

const context = { app: 'shop', env: 'dev', envType: 'development' };

function definition(
  name: string,
  type: string,
  criteria: Criteria[],
  extra: Partial<ResourceDefinition> = {},
): ResourceDefinition {
  return { name, version: 1, type, driver: 'echo', inputs: { values: {}, secrets: {} }, criteria, ...extra };
}

const request = { type: 'postgres', class: 'default', id: 'orders.db' };

describe('matchDefinition', () => {
  it('matches by type and explains every candidate', () => {
    const result = matchDefinition(
      [
        definition('pg', 'postgres', []),
        definition('redis', 'redis', []),
        definition('pg-prod', 'postgres', [{ env_type: 'production' }]),
      ],
      request,
      context,
    );
    expect(result.winner?.name).toBe('pg');
    expect(result.candidates.map((candidate) => [candidate.definition.name, candidate.matched])).toEqual([
      ['pg', true],
      ['pg-prod', false],
    ]);
    expect(result.candidates[0]?.reason).toMatch(/matches criterion \{\} \(specificity 0\); the winner/);
    expect(result.candidates[1]?.reason).toBe(
      'criterion {env_type=production} needs env_type=production, the request has env_type=development',
    );
  });

  it('lets the most specific criterion win: res_id over env over app over env_type (issue 5)', () => {
    const definitions = [
      definition('by-type', 'postgres', [{ env_type: 'development' }]),
      definition('by-app', 'postgres', [{ app: 'shop', env_type: 'development' }]),
      definition('by-env', 'postgres', [{ env: 'dev' }]),
      definition('by-id', 'postgres', [{ res_id: 'orders.db' }]),
    ];
    expect(matchDefinition(definitions, request, context).winner?.name).toBe('by-id');
    expect(matchDefinition(definitions.slice(0, 3), request, context).winner?.name).toBe('by-env');
    expect(matchDefinition(definitions.slice(0, 2), request, context).winner?.name).toBe('by-app');
    const result = matchDefinition(definitions.slice(0, 2), request, context);
    expect(result.candidates[1]?.reason).toMatch(/"by-app" is more specific/);
    expect(specificityOf({ app: 'shop' })).toBeGreaterThan(
      specificityOf({ env_type: 'development', class: 'x' }),
    );
    expect(specificityOf({ res_id: 'x' })).toBeGreaterThan(
      specificityOf({ env: 'a', env_type: 'b', app: 'c', class: 'd' }),
    );
  });

  it('takes the best of several criteria of one definition', () => {
    const result = matchDefinition(
      [
        definition('multi', 'postgres', [{ env_type: 'production' }, { env: 'dev' }, {}]),
        definition('dev-type', 'postgres', [{ env_type: 'development' }]),
      ],
      request,
      context,
    );
    expect(result.winner?.name).toBe('multi');
    expect(result.candidates[0]?.specificity).toBe(8);
  });

  it('matches a class only where a definition or its criterion names it', () => {
    const definitions = [
      definition('any', 'postgres', []),
      definition('large', 'postgres', [], { class: 'large' }),
    ];
    expect(matchDefinition(definitions, { ...request, class: 'large' }, context).winner?.name).toBe('large');
    expect(matchDefinition(definitions, request, context).winner?.name).toBe('any');
    const byCriterion = [definition('small', 'postgres', [{ class: 'small' }])];
    expect(matchDefinition(byCriterion, { ...request, class: 'small' }, context).winner?.name).toBe('small');
    expect(matchDefinition(byCriterion, request, context).candidates[0]?.reason).toMatch(
      /needs class=small, the request has class=default/,
    );
  });

  it('prefers any applied definition over a fallback one', () => {
    const result = matchDefinition(
      [definition('default-dns', 'dns', [], { fallback: true }), definition('corp-dns', 'dns', [])],
      { type: 'dns', class: 'default', id: 'orders.dns' },
      context,
    );
    expect(result.winner?.name).toBe('corp-dns');
    expect(result.candidates[1]?.reason).toMatch(/a fallback, used only when no other definition matches/);
  });

  it('matches a definition limited to some target kinds only on those, saying why elsewhere', () => {
    const docker = definition('pg-container', 'postgres', [], { fallback: true, targetKinds: ['docker'] });
    expect(matchDefinition([docker], request, { ...context, targetKind: 'docker' }).winner?.name).toBe(
      'pg-container',
    );
    const onProcess = matchDefinition([docker], request, { ...context, targetKind: 'process' });
    expect(onProcess.winner).toBeUndefined();
    expect(onProcess.candidates[0]?.reason).toBe(
      'only for environments on docker targets; it runs on a process target',
    );
    const unknown = matchDefinition([docker], request, context);
    expect(unknown.winner).toBeUndefined();
    expect(unknown.candidates[0]?.reason).toMatch(/its target is not known here/);
    // Without targetKinds a definition matches on every kind.
    expect(
      matchDefinition([definition('pg', 'postgres', [])], request, { ...context, targetKind: 'kubernetes' })
        .winner?.name,
    ).toBe('pg');
  });

  it('names no winner when two definitions are equally specific', () => {
    const result = matchDefinition(
      [definition('a', 'postgres', [{ env: 'dev' }]), definition('b', 'postgres', [{ env: 'dev' }])],
      request,
      context,
    );
    expect(result.winner).toBeUndefined();
    expect(result.ambiguous?.map((candidate) => candidate.name)).toEqual(['a', 'b']);
  });
});

describe('resolveDefinitions', () => {
  const requests = requestResources([
    scoreWorkload('orders', { resources: { db: { type: 'postgres' }, dns: { type: 'dns' } } }),
  ]).nodes;

  it('returns the winner and explanation per uid', () => {
    const resolved = resolveDefinitions(
      [definition('pg', 'postgres', []), definition('dns', 'dns', [])],
      requests,
      context,
    );
    expect(resolved.definitions.get('postgres.default#orders.db')?.name).toBe('pg');
    expect(resolved.explanations.get('dns.default#orders.dns')?.candidates).toHaveLength(1);
  });

  it('fails naming the type, class, workload and what to apply', () => {
    let error: unknown;
    try {
      resolveDefinitions(
        [definition('dns', 'dns', []), definition('pg-prod', 'postgres', [{ env_type: 'production' }])],
        requests,
        context,
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(PavedError);
    expect((error as PavedError).code).toBe('INVALID_INPUT');
    expect((error as PavedError).message).toBe(
      'resource "postgres.default#orders.db" (type postgres, class default) asked for by workload "orders" (resources.db) in app "shop" env "dev" ' +
        'has no resource definition: none of "pg-prod" (criterion {env_type=production} needs env_type=production, the request has env_type=development) matches; ' +
        'apply a ResourceDefinition for type postgres, e.g. `paved apply -f postgres-definition.yaml`',
    );
  });

  it('reports every resource without a definition at once, and ties', () => {
    let error: PavedError | undefined;
    try {
      resolveDefinitions([definition('a', 'dns', []), definition('b', 'dns', [])], requests, context);
    } catch (caught) {
      error = caught as PavedError;
    }
    const problems = error?.details?.problems as { path: string; message: string }[];
    expect(problems.map((problem) => problem.path)).toEqual([
      'workloads.orders.resources.db',
      'workloads.orders.resources.dns',
    ]);
    expect(problems[0]?.message).toMatch(/no definition of type postgres exists/);
    expect(problems[1]?.message).toMatch(/matches "a" and "b" equally well/);
  });
});
