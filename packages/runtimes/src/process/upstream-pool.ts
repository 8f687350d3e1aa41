/**
 * Kept-alive upstream connections of the HTTP relay, one Node agent per instance (`host:port`
 * key). Requests to an instance reuse its idle connections instead of opening one each; once the
 * routes name another instance, the old one's connections are closed as soon as nothing is in
 * flight on them, so they never hold an old instance past its drain.
 */
import { Agent } from 'node:http';

/**
 * How long an idle upstream connection is kept when the instance announces no keep-alive timeout
 * of its own. Below the 5 s most HTTP servers close idle connections after (Node's default), so
 * the relay is usually the one to close them; Node's agent also honours a `Keep-Alive: timeout=`
 * the instance sends, closing a second before it.
 */
const IDLE_MS = 4000;

export class UpstreamPool {
  readonly #agents = new Map<string, Agent>();

  /** The agent of the instance at `key`, made on first use. */
  agent(key: string): Agent {
    let agent = this.#agents.get(key);
    if (agent === undefined) {
      agent = new Agent({ keepAlive: true, timeout: IDLE_MS, scheduling: 'lifo' });
      this.#agents.set(key, agent);
    }
    return agent;
  }

  /** Closes the connections of every instance but `key` that `idle` says has nothing in flight. */
  keepOnly(key: string, idle: (key: string) => boolean): void {
    for (const [other, agent] of this.#agents) {
      if (other === key || !idle(other)) continue;
      agent.destroy();
      this.#agents.delete(other);
    }
  }

  close(): void {
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
  }
}
