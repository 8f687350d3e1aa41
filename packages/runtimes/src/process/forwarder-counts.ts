/**
 * What the forwarder has in flight per target, kept in `connections.json` so the runtime can let
 * an old instance finish its work before stopping it.
 */
import type { ForwarderConnections } from './forwarder-spec.js';
import { writeJsonAtomic } from './state-file.js';

export class InFlightCounts {
  readonly #file: string | undefined;
  readonly #open = new Map<string, number>();
  #reportPending = false;

  constructor(file: string | undefined) {
    this.#file = file;
  }

  /** Counts one thing in flight to `key` until the returned function is called (once or more). */
  hold(key: string): () => void {
    this.#add(key, 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.#add(key, -1);
    };
  }

  /** Whether nothing is in flight to `key`. */
  idle(key: string): boolean {
    return !this.#open.has(key);
  }

  /** Writes the empty document, so a reader never sees the counts of a previous forwarder. */
  reset(): void {
    this.#open.clear();
    if (this.#file !== undefined) writeJsonAtomic(this.#file, { open: {} } satisfies ForwarderConnections);
  }

  #add(key: string, delta: number): void {
    const next = (this.#open.get(key) ?? 0) + delta;
    if (next > 0) this.#open.set(key, next);
    else this.#open.delete(key);
    this.#report();
  }

  #report(): void {
    const file = this.#file;
    if (file === undefined || this.#reportPending) return;
    this.#reportPending = true;
    // One write per turn of the event loop however many things started or finished in it.
    setImmediate(() => {
      this.#reportPending = false;
      const connections: ForwarderConnections = { open: Object.fromEntries(this.#open) };
      try {
        writeJsonAtomic(file, connections);
      } catch {
        // The runtime then waits until its drain timeout; the relay itself is unaffected.
      }
    });
  }
}
