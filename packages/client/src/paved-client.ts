import { PavedError, isErrorCode } from '@paved/core';
import type { ErrorCode } from '@paved/core';
import { normaliseServerUrl } from './server-url.js';
import type {
  App,
  CreateAppInput,
  CreateEnvInput,
  DeleteEnvOptions,
  Environment,
  EnvironmentType,
  Health,
  Identity,
  Page,
  Value,
  ValueChange,
  ValuesChange,
  ValuesChangeResult,
  ValuesList,
  ValuesPage,
  ValuesScope,
} from './types.js';

export interface PavedClientOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:7070`. */
  url: string;
  /** Sent as `Authorization: Bearer <token>`; without it only public routes answer. */
  token?: string;
  /** Replaces the global `fetch`, e.g. in tests. */
  fetch?: typeof globalThis.fetch;
}

export interface RequestOptions {
  /** Query parameters; `undefined` values are left out. */
  query?: Record<string, string | number | boolean | undefined>;
  /** Sent as JSON. */
  body?: unknown;
  signal?: AbortSignal;
}

export interface ListOptions {
  /** Page size asked of the server (it defaults to 100 and allows at most 500). */
  limit?: number;
  signal?: AbortSignal;
}

/** The statuses of the error table, for answers that do not carry the error shape. */
const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'INVALID_INPUT',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  502: 'DRIVER_FAILED',
  503: 'UNAVAILABLE',
};

/**
 * A typed client for the Paved HTTP API (docs/api.md): one method per route. Every failure is a
 * `PavedError` whose code is the server's (so callers map it to an exit code or a status the same
 * way everywhere); a server that cannot be reached is `UNAVAILABLE`.
 *
 * @example
 * const client = new PavedClient({ url: 'http://127.0.0.1:7070', token: process.env.PAVED_TOKEN });
 * const apps = await client.listApps();
 */
export class PavedClient {
  /** The base URL without trailing slashes. */
  readonly url: string;
  readonly #token: string | undefined;
  readonly #fetch: typeof globalThis.fetch;

  constructor(options: PavedClientOptions) {
    this.url = normaliseServerUrl(options.url);
    // fetch would reject such a header with a TypeError that reads like a network failure.
    // eslint-disable-next-line no-control-regex -- control characters are what is looked for
    if (options.token !== undefined && /[\u0000-\u001f\u007f]/.test(options.token)) {
      throw new PavedError(
        'INVALID_INPUT',
        'the token contains a line break or another control character: check PAVED_TOKEN or the credential file it came from',
      );
    }
    this.#token = options.token;
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  /**
   * Whether the server is up; public, needs no token.
   *
   * @example
   * const { version } = await client.health();
   */
  health(options: { signal?: AbortSignal } = {}): Promise<Health> {
    return this.request<Health>('GET', '/api/v1/health', options);
  }

  /**
   * The identity of the client's token, with its roles.
   *
   * @example
   * const me = await client.whoami(); // { id, name, kind, roles: [{ role: 'admin', scope: '*' }] }
   */
  whoami(): Promise<Identity> {
    return this.request<Identity>('GET', '/api/v1/whoami');
  }

  /**
   * Every app, following the list's cursors to the end.
   *
   * @example
   * for (const app of await client.listApps()) console.log(app.name);
   */
  listApps(options: ListOptions = {}): Promise<App[]> {
    return this.listAll<App>('/api/v1/apps', options);
  }

  /**
   * Creates an app; `CONFLICT` if the name is taken.
   *
   * @example
   * await client.createApp({ name: 'shop', team: 'payments' });
   */
  createApp(input: CreateAppInput): Promise<App> {
    return this.request<App>('POST', '/api/v1/apps', { body: input });
  }

  /**
   * One app; `NOT_FOUND` if there is none of that name.
   *
   * @example
   * const app = await client.getApp('shop');
   */
  getApp(app: string): Promise<App> {
    return this.request<App>('GET', appPath(app));
  }

  /**
   * Deletes an app; `CONFLICT` while it still has environments.
   *
   * @example
   * await client.deleteApp('shop');
   */
  async deleteApp(app: string): Promise<void> {
    await this.request<undefined>('DELETE', appPath(app));
  }

  /**
   * The environment types, in their order (development, preview, staging, production, …).
   *
   * @example
   * const names = (await client.listEnvTypes()).map((type) => type.name);
   */
  listEnvTypes(options: ListOptions = {}): Promise<EnvironmentType[]> {
    return this.listAll<EnvironmentType>('/api/v1/env-types', options);
  }

  /**
   * One environment type.
   *
   * @example
   * const preview = await client.getEnvType('preview'); // preview.defaultTtl === '72h'
   */
  getEnvType(type: string): Promise<EnvironmentType> {
    return this.request<EnvironmentType>('GET', `/api/v1/env-types/${segment(type)}`);
  }

  /**
   * Creates an environment of an app.
   *
   * @example
   * await client.createEnv('shop', { name: 'pr-42', type: 'preview', from: 'staging', ttl: '24h' });
   */
  createEnv(app: string, input: CreateEnvInput): Promise<Environment> {
    return this.request<Environment>('POST', `${appPath(app)}/envs`, { body: input });
  }

  /**
   * Every environment of an app, following the list's cursors to the end.
   *
   * @example
   * const envs = await client.listEnvs('shop');
   */
  listEnvs(app: string, options: ListOptions = {}): Promise<Environment[]> {
    return this.listAll<Environment>(`${appPath(app)}/envs`, options);
  }

  /**
   * One environment of an app.
   *
   * @example
   * const env = await client.getEnv('shop', 'staging');
   */
  getEnv(app: string, env: string): Promise<Environment> {
    return this.request<Environment>('GET', envPath(app, env));
  }

  /**
   * Deletes an environment; its stateful resources are kept unless `deleteData` is set.
   *
   * @example
   * await client.deleteEnv('shop', 'pr-42', { deleteData: true });
   */
  async deleteEnv(app: string, env: string, options: DeleteEnvOptions = {}): Promise<void> {
    await this.request<undefined>('DELETE', envPath(app, env), {
      query: { deleteData: options.deleteData === true ? 'true' : undefined },
    });
  }

  /**
   * The values of an app (`{ app }`) or of one environment (`{ app, env }`). Secrets come without
   * their value.
   *
   * @example
   * const { version, items } = await client.listValues({ app: 'shop', env: 'staging' });
   */
  async listValues(scope: ValuesScope, options: ListOptions = {}): Promise<ValuesList> {
    let version: number | undefined;
    const items: Value[] = [];
    for await (const page of this.pages<ValuesPage>(valuesPath(scope), options)) {
      // Every page carries the version; the first page's is the snapshot the list started from.
      version ??= page.version;
      items.push(...page.items);
    }
    return { version: version ?? 0, items };
  }

  /**
   * Sets and unsets values of a scope in one change, all or nothing.
   *
   * @example
   * await client.changeValues({ app: 'shop' }, {
   *   set: [{ key: 'LOG_LEVEL', value: 'debug' }, { key: 'API_KEY', value: 's3cret', secret: true }],
   *   unset: ['OLD_FLAG'],
   * });
   */
  changeValues(scope: ValuesScope, change: ValuesChange): Promise<ValuesChangeResult> {
    return this.request<ValuesChangeResult>('PATCH', valuesPath(scope), { body: change });
  }

  /**
   * The changes to a scope's values, newest first, following the list's cursors to the end.
   *
   * @example
   * const [latest] = await client.valuesHistory({ app: 'shop' });
   */
  valuesHistory(scope: ValuesScope, options: ListOptions = {}): Promise<ValueChange[]> {
    return this.listAll<ValueChange>(`${valuesPath(scope)}/history`, options);
  }

  /**
   * Every item of a list route, following `next` cursors until the last page.
   *
   * @example
   * const apps = await client.listAll<App>('/api/v1/apps', { limit: 500 });
   */
  async listAll<T>(path: string, options: ListOptions = {}): Promise<T[]> {
    const items: T[] = [];
    for await (const page of this.pages<Page<T>>(path, options)) items.push(...page.items);
    return items;
  }

  /**
   * The pages of a list route, one request per page, for callers that want to stop early.
   *
   * @example
   * for await (const page of client.pages<Page<App>>('/api/v1/apps')) console.log(page.items.length);
   */
  async *pages<P extends Page<unknown>>(path: string, options: ListOptions = {}): AsyncGenerator<P> {
    const seen = new Set<string>();
    let after: string | undefined;
    for (;;) {
      const page = await this.request<P>('GET', path, {
        query: { after, limit: options.limit },
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      if (!Array.isArray(page?.items)) {
        throw new PavedError(
          'INTERNAL',
          `the Paved server at ${this.url} answered GET ${path} with something that is not a list; check that the URL points at a Paved server`,
        );
      }
      yield page;
      if (typeof page.next !== 'string') return;
      // A server that hands out the same cursor twice would otherwise keep us here forever.
      if (seen.has(page.next)) {
        throw new PavedError(
          'INTERNAL',
          `the Paved server at ${this.url} returned the cursor "${page.next}" twice for GET ${path}; this is a server bug`,
        );
      }
      seen.add(page.next);
      after = page.next;
    }
  }

  /**
   * Sends one request and returns the parsed JSON answer (`undefined` for `204`). Paths start at
   * the server root, e.g. `/api/v1/apps`.
   *
   * @example
   * const app = await client.request<App>('GET', '/api/v1/apps/shop');
   */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = new URL(`${this.url}${path}`);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';

    let response: Response;
    try {
      response = await this.#fetch(url, {
        method,
        headers,
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
    } catch (error) {
      if (options.signal?.aborted === true) throw error;
      throw new PavedError(
        'UNAVAILABLE',
        `cannot reach the Paved server at ${this.url}: ${networkReason(error)}; start it with "npx paved server" or set PAVED_URL`,
        { cause: error },
      );
    }

    const text = await response.text();
    if (response.ok) {
      if (response.status === 204 || text === '') return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch (error) {
        throw new PavedError(
          'INTERNAL',
          `the server at ${this.url} answered ${method} ${path} with a body that is not JSON; check that the URL points at a Paved server`,
          { cause: error },
        );
      }
    }
    throw this.#errorFrom(response, text, method, path);
  }

  #errorFrom(response: Response, text: string, method: string, path: string): PavedError {
    const requestId = response.headers.get('x-request-id') ?? undefined;
    const body = parseErrorBody(text);
    if (body !== undefined && isErrorCode(body.code)) {
      // Internal errors carry no detail for the caller; the request id finds them in the server log.
      const message =
        body.code === 'INTERNAL' && requestId !== undefined
          ? `${body.message} (request ${requestId}; the server log has the details)`
          : body.message;
      return new PavedError(body.code, message, {
        ...(body.details === undefined ? {} : { details: body.details }),
      });
    }
    const code = CODE_BY_STATUS[response.status] ?? 'INTERNAL';
    const reason = body?.message ?? (response.statusText || 'no error description');
    return new PavedError(
      code,
      `the server at ${this.url} answered ${method} ${path} with HTTP ${response.status}: ${reason}` +
        (requestId === undefined ? '' : ` (request ${requestId})`),
    );
  }
}

function parseErrorBody(
  text: string,
): { code: string; message: string; details?: Record<string, unknown> } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || !('error' in parsed)) return undefined;
  const error: unknown = parsed.error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, message, details } = error as Record<string, unknown>;
  if (typeof code !== 'string' || typeof message !== 'string') return undefined;
  const validDetails =
    typeof details === 'object' && details !== null && !Array.isArray(details)
      ? (details as Record<string, unknown>)
      : undefined;
  return { code, message, ...(validDetails === undefined ? {} : { details: validDetails }) };
}

/** Node's fetch says only "fetch failed"; the useful part (ECONNREFUSED, ENOTFOUND…) is in the cause. */
function networkReason(error: unknown): string {
  const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
  const code = errorCode(cause) ?? (cause instanceof AggregateError ? errorCode(cause.errors[0]) : undefined);
  if (code !== undefined)
    return NETWORK_REASONS[code] === undefined ? code : `${NETWORK_REASONS[code]} (${code})`;
  return cause instanceof Error ? cause.message : String(cause);
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
};

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

function segment(name: string): string {
  return encodeURIComponent(name);
}

function appPath(app: string): string {
  return `/api/v1/apps/${segment(app)}`;
}

function envPath(app: string, env: string): string {
  return `${appPath(app)}/envs/${segment(env)}`;
}

function valuesPath(scope: ValuesScope): string {
  return `${scope.env === undefined ? appPath(scope.app) : envPath(scope.app, scope.env)}/values`;
}
