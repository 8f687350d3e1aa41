/**
 * The forwarder's view of `routes.json`: read again whenever the file changed, so every new
 * connection (TCP) or request (HTTP) goes to the instance active at that moment.
 */
import { readFileSync, statSync } from 'node:fs';
import { targetKey, type ForwarderRoutes, type ForwarderTarget } from './forwarder-spec.js';

/** Where to connect for one port, and its key in `connections.json`. */
export interface ResolvedTarget {
  host: string;
  port: number;
  key: string;
}

export class RouteTable {
  readonly #file: string;
  #routes: ForwarderRoutes<number | ForwarderTarget> | undefined;
  #stamp = '';

  constructor(file: string) {
    this.#file = file;
  }

  /** The active instance's address for port `name`, or undefined when there is none yet. */
  target(name: string): ResolvedTarget | undefined {
    const target = this.#current()?.targets[name];
    if (target === undefined) return undefined;
    if (typeof target === 'number') return { host: '127.0.0.1', port: target, key: targetKey(target) };
    return { host: target.host, port: target.port, key: targetKey(target) };
  }

  #current(): ForwarderRoutes<number | ForwarderTarget> | undefined {
    let stamp: string;
    try {
      const stat = statSync(this.#file);
      stamp = `${stat.ino}:${stat.mtimeMs}:${stat.size}`;
    } catch {
      // No routes yet (the first instance is not ready): refuse. Or, once routes were read, the
      // file is being replaced: a container engine's archive API may remove it before writing the
      // new one. Nothing removes it for good while the forwarder runs, so keep the last routes.
      return this.#routes;
    }
    if (stamp === this.#stamp) return this.#routes;
    try {
      const parsed = JSON.parse(readFileSync(this.#file, 'utf8')) as unknown;
      if (!isRoutes(parsed)) return this.#routes;
      this.#routes = parsed;
      this.#stamp = stamp;
    } catch {
      // A torn read: routes.json written through a container engine's archive API is replaced in
      // place, not renamed. Keep the previous routes; the stamp stays old, so the next connection
      // reads the file again.
    }
    return this.#routes;
  }
}

function isRoutes(value: unknown): value is ForwarderRoutes<number | ForwarderTarget> {
  if (typeof value !== 'object' || value === null) return false;
  const targets = (value as { targets?: unknown }).targets;
  if (typeof targets !== 'object' || targets === null) return false;
  return Object.values(targets).every(
    (target) =>
      typeof target === 'number' ||
      (typeof target === 'object' &&
        target !== null &&
        typeof (target as { host?: unknown }).host === 'string' &&
        typeof (target as { port?: unknown }).port === 'number'),
  );
}
