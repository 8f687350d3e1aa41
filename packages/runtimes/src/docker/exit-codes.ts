/**
 * The last exit code of each of the target's containers, from the engine's event stream. When the
 * engine restarts a crashed container, inspect shows it running again with exit code 0; only the
 * `die` event still says how the previous run ended, which `status` reports.
 */
import type Docker from 'dockerode';
import { LABEL } from './docker-labels.js';

interface EngineEvent {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

export class ExitCodes {
  readonly #docker: Docker;
  readonly #target: string;
  readonly #codes = new Map<string, number>();
  #stream: NodeJS.ReadableStream | undefined;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(docker: Docker, target: string) {
    this.#docker = docker;
    this.#target = target;
  }

  /** Starts listening (idempotent); reconnects after the stream breaks until `close()`. */
  async start(): Promise<void> {
    if (this.#stream !== undefined || this.#closed) return;
    try {
      const stream = await this.#docker.getEvents({
        // Podman 4 answers nothing to an `event` filter, so `die` is picked out here.
        filters: { type: ['container'], label: [`${LABEL.target}=${this.#target}`] },
      });
      if (this.#closed) {
        (stream as unknown as { destroy?: () => void }).destroy?.();
        return;
      }
      this.#stream = stream;
      let pending = '';
      stream.on('data', (chunk: Buffer) => {
        pending += chunk.toString('utf8');
        let newline = pending.indexOf('\n');
        while (newline >= 0) {
          this.#record(pending.slice(0, newline));
          pending = pending.slice(newline + 1);
          newline = pending.indexOf('\n');
        }
      });
      const again = (): void => {
        this.#stream = undefined;
        this.#schedule();
      };
      stream.on('end', again);
      stream.on('error', again);
    } catch {
      this.#schedule();
    }
  }

  lastExit(containerId: string): number | undefined {
    return this.#codes.get(containerId);
  }

  /**
   * The last exit code, waiting up to `timeoutMs` for its `die` event: the engine may show the
   * restart count of a crash before the event stream has delivered how that run ended.
   */
  async nextExit(containerId: string, timeoutMs: number): Promise<number | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const code = this.#codes.get(containerId);
      if (code !== undefined || Date.now() >= deadline || this.#closed) return code;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  forget(containerId: string): void {
    this.#codes.delete(containerId);
  }

  close(): void {
    this.#closed = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    const stream = this.#stream as unknown as { destroy?: () => void } | undefined;
    this.#stream = undefined;
    stream?.destroy?.();
  }

  #schedule(): void {
    if (this.#closed || this.#retry !== undefined) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      void this.start();
    }, 1000);
    this.#retry.unref();
  }

  #record(text: string): void {
    if (text.trim() === '') return;
    try {
      const event = JSON.parse(text) as EngineEvent;
      const id = event.Actor?.ID ?? event.id;
      const code = Number(event.Actor?.Attributes?.exitCode);
      if ((event.Action ?? event.status) === 'die' && id !== undefined && Number.isInteger(code)) {
        this.#codes.set(id, code);
      }
    } catch {
      // Not an event line; the stream carries nothing else worth keeping.
    }
  }
}
