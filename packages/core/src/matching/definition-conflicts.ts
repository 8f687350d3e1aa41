import type { Problem } from '../errors.js';
import { DEFAULT_CLASS } from '../request/resource-requests.js';
import type { Criteria, ResourceDefinition } from './resource-definition.js';

const KEYS = ['env_type', 'env', 'app', 'res_id', 'class'] as const satisfies readonly (keyof Criteria)[];

function criterionKey(definition: ResourceDefinition, criterion: Criteria): string {
  const effective: Criteria = { ...criterion, class: criterion.class ?? definition.class ?? DEFAULT_CLASS };
  return KEYS.map((key) => `${key}=${effective[key] ?? '*'}`).join(',');
}

/**
 * Definitions that would tie: two of the same type (and fallback standing) with an identical
 * criterion match the same requests equally well. Checked when definitions are applied, so a
 * tie is refused then rather than failing a deployment later.
 */
export function definitionConflicts(definitions: readonly ResourceDefinition[]): Problem[] {
  const seen = new Map<string, string>();
  const problems: Problem[] = [];
  for (const definition of definitions) {
    const criteria = definition.criteria.length === 0 ? [{}] : definition.criteria;
    const own = new Set<string>();
    criteria.forEach((criterion, index) => {
      const key = `${definition.type}|${definition.fallback === true}|${criterionKey(definition, criterion)}`;
      if (own.has(key)) return;
      own.add(key);
      const other = seen.get(key);
      if (other === undefined) {
        seen.set(key, definition.name);
        return;
      }
      problems.push({
        path: `${definition.name}.criteria.${index}`,
        message:
          `resource definition "${definition.name}" ties with "${other}": both provision type ${definition.type} ` +
          `with criterion ${criterionKey(definition, criterion)}: make one more specific or remove it`,
      });
    });
  }
  return problems;
}
