/**
 * An in-process server over a test store, with helpers to call it and read its log. Test-only
 * (excluded from the build).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '@paved/core';
import type { Store } from '@paved/store';
import { createServer, type CreateServerDeps, type PavedServer } from '../create-server.js';
import { generateToken, hashToken } from '../auth/tokens.js';
import { createLogger } from '../observability/logger.js';

/** Collects the JSON log lines the server writes. */
export class LogCapture {
  readonly lines: string[] = [];

  write(line: string): void {
    this.lines.push(line);
  }

  get text(): string {
    return this.lines.join('');
  }

  entries(): Record<string, unknown>[] {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

export interface TestResponse {
  status: number;
  headers: Headers;
  /** The raw body text. */
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. Untyped: tests assert its shape. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the assertions are the types
  body: any;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  /** Sent as is instead of JSON-encoding `body`. */
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface TestServer extends PavedServer {
  store: Store;
  log: LogCapture;
  /** Every body the server answered with during the test, for searching for leaks. */
  responses: string[];
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  /** A principal created directly in the store, with a token; `administrator` grants everything. */
  principal(
    name: string,
    options?: { administrator?: boolean; app?: string },
  ): Promise<{ id: string; token: string; tokenId: string }>;
}

export function createTestServer(
  store: Store,
  clock: Clock,
  options: Omit<CreateServerDeps, 'store' | 'masterKey' | 'clock' | 'logger'> = {},
): TestServer {
  const log = new LogCapture();
  const server = createServer({
    store,
    clock,
    masterKey: randomBytes(32),
    logger: createLogger({ level: 'debug', destination: log }),
    ...options,
  });
  const responses: string[] = [];
  return {
    ...server,
    store,
    log,
    responses,
    async request(method, path, { token, body, rawBody, headers = {} } = {}) {
      const init: RequestInit = { method, headers: { ...headers } };
      const requestHeaders = init.headers as Record<string, string>;
      if (token !== undefined) requestHeaders.authorization = `Bearer ${token}`;
      if (rawBody !== undefined) init.body = rawBody;
      else if (body !== undefined) {
        init.body = JSON.stringify(body);
        requestHeaders['content-type'] ??= 'application/json';
      }
      const response = await server.app.request(path, init);
      const text = await response.text();
      responses.push(text);
      let parsed: unknown;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      return { status: response.status, headers: response.headers, text, body: parsed };
    },
    async principal(name, { administrator = false, app } = {}) {
      const principal = await store.principals.create({ id: randomUUID(), kind: 'user', name });
      if (administrator)
        await store.grants.grant({ subject: principal.id, role: 'administrator', scope: { kind: 'org' } });
      const token = generateToken();
      const created = await store.tokens.create({
        id: randomUUID(),
        principalId: principal.id,
        name: `${name}-token`,
        hash: hashToken(token),
        ...(app === undefined ? {} : { app }),
      });
      return { id: principal.id, token, tokenId: created.id };
    },
  };
}
