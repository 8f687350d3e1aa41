/**
 * The match stage: picks the definition for each requested resource and explains the choice for
 * every candidate, so `paved resources explain` can show why one won and the others did not.
 */
import { PavedError, type Problem } from '../errors.js';
import type { ResourceRequestNode } from '../request/resource-requests.js';
import type { RuntimeKind } from '../runtime.js';
import { DEFAULT_CLASS } from '../request/resource-requests.js';
import type { Criteria, ResourceDefinition } from './resource-definition.js';

/** What a definition is matched against, beyond the resource itself. */
export interface MatchContext {
  app: string;
  env: string;
  envType: string;
  /**
   * The kind of the environment's target. Definitions limited to other kinds do not match; without
   * it, no definition limited to some kinds does.
   */
  targetKind?: RuntimeKind;
}

/** The parts of a requested resource matching looks at. */
export type MatchRequest = Pick<ResourceRequestNode, 'type' | 'class' | 'id'>;

export interface MatchCandidate {
  definition: ResourceDefinition;
  matched: boolean;
  /** Of the best matching criterion; -1 when nothing matched. Higher wins. */
  specificity: number;
  reason: string;
}

export interface MatchResult {
  winner?: ResourceDefinition;
  /** Every definition of the requested type, best first. */
  candidates: MatchCandidate[];
  /** Set when two or more definitions match equally well and none wins. */
  ambiguous?: ResourceDefinition[];
}

/**
 * Weights make any criterion naming the resource id beat any naming only the environment, and so
 * on down: a sum of lower weights can never reach a higher one.
 */
const WEIGHTS = { res_id: 16, env: 8, app: 4, env_type: 2, class: 1 } as const satisfies Record<
  keyof Criteria,
  number
>;

const KEYS = Object.keys(WEIGHTS) as (keyof Criteria)[];

export function specificityOf(criterion: Criteria): number {
  return KEYS.reduce((sum, key) => (criterion[key] === undefined ? sum : sum + WEIGHTS[key]), 0);
}

function requestValue(key: keyof Criteria, request: MatchRequest, context: MatchContext): string {
  switch (key) {
    case 'res_id':
      return request.id;
    case 'env':
      return context.env;
    case 'env_type':
      return context.envType;
    case 'app':
      return context.app;
    case 'class':
      return request.class;
  }
}

function describeCriterion(criterion: Criteria): string {
  const parts = KEYS.filter((key) => criterion[key] !== undefined).map((key) => `${key}=${criterion[key]}`);
  return parts.length === 0 ? '{}' : `{${parts.join(', ')}}`;
}

/** Evaluates one definition against a request: matched or not, how specific, and why. */
function evaluate(
  definition: ResourceDefinition,
  request: MatchRequest,
  context: MatchContext,
): MatchCandidate {
  const kinds = definition.targetKinds;
  if (kinds !== undefined && (context.targetKind === undefined || !kinds.includes(context.targetKind))) {
    const runsOn =
      context.targetKind === undefined
        ? 'its target is not known here'
        : `it runs on a ${context.targetKind} target`;
    return {
      definition,
      matched: false,
      specificity: -1,
      reason: `only for environments on ${kinds.join(' or ')} targets; ${runsOn}`,
    };
  }
  const criteria: Criteria[] = definition.criteria.length === 0 ? [{}] : definition.criteria;
  let best: { specificity: number; criterion: Criteria } | undefined;
  const misses: string[] = [];
  for (const written of criteria) {
    const criterion: Criteria = { ...written, class: written.class ?? definition.class };
    const mismatched = KEYS.find((key) => {
      if (key === 'class') return (criterion.class ?? DEFAULT_CLASS) !== request.class;
      const expected = criterion[key];
      return expected !== undefined && expected !== requestValue(key, request, context);
    });
    if (mismatched !== undefined) {
      const expected = mismatched === 'class' ? (criterion.class ?? DEFAULT_CLASS) : criterion[mismatched];
      misses.push(
        `criterion ${describeCriterion(written)} needs ${mismatched}=${expected}, the request has ${mismatched}=${requestValue(mismatched, request, context)}`,
      );
      continue;
    }
    const specificity = specificityOf(criterion);
    if (best === undefined || specificity > best.specificity) best = { specificity, criterion: written };
  }
  if (best === undefined) {
    return { definition, matched: false, specificity: -1, reason: misses.join('; ') };
  }
  const how = `matches criterion ${describeCriterion(best.criterion)} (specificity ${best.specificity})`;
  return {
    definition,
    matched: true,
    specificity: best.specificity,
    reason:
      definition.fallback === true ? `${how}; a fallback, used only when no other definition matches` : how,
  };
}

/** Orders matched candidates: more specific first, then definitions applied by the platform team. */
function rank(a: MatchCandidate, b: MatchCandidate): number {
  if (a.matched !== b.matched) return a.matched ? -1 : 1;
  const fallbackA = a.definition.fallback === true ? 1 : 0;
  const fallbackB = b.definition.fallback === true ? 1 : 0;
  if (fallbackA !== fallbackB) return fallbackA - fallbackB;
  return b.specificity - a.specificity || a.definition.name.localeCompare(b.definition.name);
}

/**
 * Picks the most specific definition of the requested type, explaining every candidate. A
 * definition shipped as a fallback wins only when no other matches; two equally specific matches
 * give no winner and are listed in `ambiguous`.
 *
 * @example
 * const { winner, candidates } = matchDefinition(definitions, { type: 'postgres', class: 'default', id: 'orders.db' },
 *   { app: 'shop', env: 'dev', envType: 'development' });
 */
export function matchDefinition(
  definitions: readonly ResourceDefinition[],
  request: MatchRequest,
  context: MatchContext,
): MatchResult {
  const candidates = definitions
    .filter((definition) => definition.type === request.type)
    .map((definition) => evaluate(definition, request, context))
    .sort(rank);
  const first = candidates[0];
  if (first === undefined || !first.matched) return { candidates };
  const tied = candidates.filter(
    (candidate) =>
      candidate.matched &&
      candidate.specificity === first.specificity &&
      (candidate.definition.fallback === true) === (first.definition.fallback === true),
  );
  if (tied.length > 1) {
    for (const candidate of tied) candidate.reason += '; ties with another definition as specific as it';
    return { candidates, ambiguous: tied.map((candidate) => candidate.definition) };
  }
  first.reason += '; the winner';
  for (const candidate of candidates.slice(1)) {
    if (candidate.matched) candidate.reason += `; "${first.definition.name}" is more specific`;
  }
  return { winner: first.definition, candidates };
}

export interface ResolvedDefinitions {
  /** uid → the winning definition. */
  definitions: Map<string, ResourceDefinition>;
  /** uid → the whole explanation, for `paved resources explain`. */
  explanations: Map<string, MatchResult>;
}

/**
 * Matches every requested resource; when any has no winner, throws one INVALID_INPUT error
 * listing each such resource, its workloads, and the definition to apply.
 */
export function resolveDefinitions(
  definitions: readonly ResourceDefinition[],
  requests: readonly ResourceRequestNode[],
  context: MatchContext,
): ResolvedDefinitions {
  const winners = new Map<string, ResourceDefinition>();
  const explanations = new Map<string, MatchResult>();
  const problems: Problem[] = [];
  for (const request of requests) {
    const result = matchDefinition(definitions, request, context);
    explanations.set(request.uid, result);
    if (result.winner !== undefined) {
      winners.set(request.uid, result.winner);
      continue;
    }
    problems.push({ path: pathOf(request), message: noWinnerMessage(request, result, context) });
  }
  if (problems.length > 0) {
    throw PavedError.invalid(
      problems.length === 1
        ? (problems[0]?.message ?? '')
        : `${problems.length} resources have no resource definition; first: ${problems[0]?.message ?? ''}`,
      problems,
    );
  }
  return { definitions: winners, explanations };
}

function pathOf(request: ResourceRequestNode): string {
  const claim = request.claims[0];
  return claim === undefined
    ? `resources.${request.uid}`
    : `workloads.${claim.workload}.resources.${claim.name}`;
}

function askedBy(request: ResourceRequestNode): string {
  if (request.claims.length === 0) return 'added by the platform';
  return `asked for by ${request.claims.map((claim) => `workload "${claim.workload}" (resources.${claim.name})`).join(', ')}`;
}

function noWinnerMessage(request: ResourceRequestNode, result: MatchResult, context: MatchContext): string {
  const what = `resource "${request.uid}" (type ${request.type}, class ${request.class}) ${askedBy(request)} in app "${context.app}" env "${context.env}"`;
  if (result.ambiguous !== undefined) {
    return (
      `${what} matches ${result.ambiguous.map((definition) => `"${definition.name}"`).join(' and ')} equally well: ` +
      `make one more specific (criteria env_type, env, app, res_id, class) or remove one`
    );
  }
  const tried =
    result.candidates.length === 0
      ? `no definition of type ${request.type} exists`
      : `none of ${result.candidates.map((candidate) => `"${candidate.definition.name}" (${candidate.reason})`).join(', ')} matches`;
  return (
    `${what} has no resource definition: ${tried}; apply a ResourceDefinition for type ${request.type}` +
    `${request.class === DEFAULT_CLASS ? '' : ` and class ${request.class}`}, e.g. \`paved apply -f ${request.type}-definition.yaml\``
  );
}
