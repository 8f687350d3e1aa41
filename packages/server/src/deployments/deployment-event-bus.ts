import type { Deployment, DeploymentEvent } from '@paved/store';

export type DeploymentSignal =
  { kind: 'event'; event: DeploymentEvent } | { kind: 'end'; deployment: Deployment };

type Listener = (signal: DeploymentSignal) => void;

/**
 * Live events of the deployments this server runs, for event streams to follow. Every event is
 * in the store first, so a stream replays from there and only follows here; a deployment another
 * replica runs is followed by polling the store.
 */
export class DeploymentEventBus {
  readonly #listeners = new Map<string, Set<Listener>>();

  subscribe(app: string, env: string, number: number, listener: Listener): () => void {
    const key = keyOf(app, env, number);
    const listeners = this.#listeners.get(key) ?? new Set<Listener>();
    listeners.add(listener);
    this.#listeners.set(key, listeners);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) this.#listeners.delete(key);
    };
  }

  publish(app: string, env: string, number: number, signal: DeploymentSignal): void {
    for (const listener of this.#listeners.get(keyOf(app, env, number)) ?? []) listener(signal);
  }
}

function keyOf(app: string, env: string, number: number): string {
  return `${app}\n${env}\n${number}`;
}
