import type { GatewayRoute } from '@paved/store';

/**
 * The gateway's routing decision: the route whose host equals the request's (case-insensitive,
 * port left out) with the longest path prefix that matches on a segment boundary, so `/api` serves
 * `/api` and `/api/orders` but not `/apiary`.
 */
export class RouteTable {
  readonly #byHost = new Map<string, GatewayRoute[]>();

  constructor(routes: readonly GatewayRoute[]) {
    for (const route of routes) {
      const host = route.host.toLowerCase();
      const list = this.#byHost.get(host) ?? [];
      list.push(route);
      this.#byHost.set(host, list);
    }
    for (const list of this.#byHost.values()) list.sort((a, b) => b.path.length - a.path.length);
  }

  /** `hostHeader` as sent (`shop.localhost:7080`); `path` without the query string. */
  match(hostHeader: string, path: string): GatewayRoute | undefined {
    const routes = this.#byHost.get(hostWithoutPort(hostHeader));
    return routes?.find((route) => prefixMatches(route.path, path));
  }
}

export function hostWithoutPort(hostHeader: string): string {
  const host = hostHeader.trim().toLowerCase();
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.lastIndexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

function prefixMatches(prefix: string, path: string): boolean {
  if (prefix === '/' || prefix === '') return true;
  if (path === prefix) return true;
  const base = prefix.endsWith('/') ? prefix : `${prefix}/`;
  return path.startsWith(base);
}
