/**
 * Access rules for routes declared in other files, applied where the route table is assembled:
 * what a route needs beyond its one declared permission, and what a list shows to whom. Each rule
 * names its route; a rule whose route is missing stops the server from starting, so renaming a
 * route cannot silently drop its rule.
 */
import { PavedError, authorize } from '@paved/core';
import type { AnyRoute } from './route.js';
import { caller } from './scopes.js';

interface Refinement {
  method: AnyRoute['method'];
  path: string;
  why: string;
  refine: (route: AnyRoute) => AnyRoute;
}

const REFINEMENTS: readonly Refinement[] = [
  {
    method: 'DELETE',
    path: '/api/v1/apps/{app}/envs/{env}',
    why: "deleting an environment's data (deleteData=true) is deleting stateful resources",
    refine: (route) => ({
      ...route,
      alsoRequires: (input) =>
        (input.query as { deleteData?: string } | undefined)?.deleteData === 'true'
          ? 'resources.delete'
          : undefined,
    }),
  },
  {
    method: 'GET',
    path: '/api/v1/apps',
    why: 'a member sees the apps of their teams and those they hold a role on, not every app',
    refine: (route) => ({
      ...route,
      handler: async (context) => {
        const result = await route.handler(context);
        if (result instanceof Response) return result;
        const subject = caller(context.principal).subject;
        const page = result as { items: { name: string; team?: string }[]; next: string | null };
        return {
          ...page,
          items: page.items.filter(
            (app) => authorize(subject, 'apps.read', { app: app.name, appTeam: app.team }).allowed,
          ),
        };
      },
    }),
  },
];

/** The routes with the access rules above applied. */
export function refineAccess(routes: readonly AnyRoute[]): AnyRoute[] {
  const refined = [...routes];
  for (const refinement of REFINEMENTS) {
    const index = refined.findIndex(
      (route) => route.method === refinement.method && route.path === refinement.path,
    );
    if (index < 0) {
      throw new PavedError(
        'INTERNAL',
        `the access rule for ${refinement.method} ${refinement.path} (${refinement.why}) has no route to apply to; move the rule with the route in routes/access-refinements.ts`,
      );
    }
    refined[index] = refinement.refine(refined[index]!);
  }
  return refined;
}
