/**
 * A steady load through the gateway for zero-downtime tests: a request every few milliseconds
 * over a few keep-alive connections to the gateway, with the route's host in the `Host` header
 * (`*.localhost` does not resolve in Node). Every outcome is kept, so a test can say which
 * version answered when and that nothing failed. Test-only (excluded from the build).
 */
import { Agent, request as httpRequest } from 'node:http';

export interface LoadOutcome {
  path: string;
  started: number;
  ended: number;
  status?: number;
  body?: string;
  error?: string;
}

export class GatewayLoad {
  readonly outcomes: LoadOutcome[] = [];
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 4 });
  readonly #pending = new Set<Promise<LoadOutcome>>();
  readonly #gateway: URL;
  readonly #host: string;
  #timer: NodeJS.Timeout | undefined;

  constructor(gatewayUrl: string, host: string) {
    this.#gateway = new URL(gatewayUrl);
    this.#host = host;
  }

  /** Sends `GET /` every `intervalMs` until {@link stop}. */
  start(intervalMs: number): void {
    this.#timer = setInterval(() => void this.send('/'), intervalMs);
  }

  send(path: string): Promise<LoadOutcome> {
    const outcome: LoadOutcome = { path, started: Date.now(), ended: 0 };
    const done = new Promise<LoadOutcome>((resolve) => {
      const finish = (fields: Partial<LoadOutcome>): void => {
        Object.assign(outcome, fields, { ended: Date.now() });
        resolve(outcome);
      };
      const request = httpRequest(
        {
          host: this.#gateway.hostname,
          port: Number(this.#gateway.port),
          path,
          agent: this.#agent,
          headers: { host: `${this.#host}:${this.#gateway.port}` },
        },
        (response) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (body += chunk));
          response.on('end', () => finish({ status: response.statusCode, body }));
          response.on('error', (error) => finish({ error: error.message }));
        },
      );
      request.on('error', (error) => finish({ error: error.message }));
      request.end();
    });
    this.outcomes.push(outcome);
    this.#pending.add(done);
    void done.then(() => this.#pending.delete(done));
    return done;
  }

  /** The outcomes of the steady `GET /` requests (not the ones sent with {@link send}). */
  steady(): LoadOutcome[] {
    return this.outcomes.filter((outcome) => outcome.path === '/' && outcome.ended > 0);
  }

  /** Resolves once `body` has answered for `forMs` without any other answer. */
  async until(body: string, forMs: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const since = Date.now() - forMs;
      const steady = this.steady();
      const recent = steady.filter((outcome) => outcome.ended >= since);
      const first = steady.find((outcome) => outcome.body === body);
      if (first !== undefined && first.ended <= since && recent.every((o) => o.body === body)) return;
      if (Date.now() > deadline) {
        const seen = [...new Set(recent.map((o) => o.body ?? o.error ?? String(o.status)))].join(', ');
        throw new Error(`"${body}" did not answer steadily for ${forMs} ms (recent answers: ${seen})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Stops sending and waits for every request in flight. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all([...this.#pending]);
    this.#agent.destroy();
  }

  failures(): LoadOutcome[] {
    return this.outcomes.filter((outcome) => outcome.error !== undefined || outcome.status !== 200);
  }

  /** Steady requests per second over the whole run. */
  rate(): number {
    const steady = this.steady();
    if (steady.length < 2) return 0;
    const seconds =
      (Math.max(...steady.map((o) => o.ended)) - Math.min(...steady.map((o) => o.started))) / 1000;
    return steady.length / seconds;
  }

  /** Steady requests answered with `before` that started after the first answer with `after`. */
  lateAnswers(before: string, after: string): LoadOutcome[] {
    const steady = this.steady();
    const firstAfter = Math.min(...steady.filter((o) => o.body === after).map((o) => o.ended));
    return steady.filter((o) => o.body === before && o.started > firstAfter);
  }
}
