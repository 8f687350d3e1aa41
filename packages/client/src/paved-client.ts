import { PavedError, isErrorCode } from '@paved/core';
import type { ErrorCode } from '@paved/core';
import { normaliseServerUrl } from './server-url.js';
import { SseParser } from './sse.js';
import type {
  ActiveResource,
  App,
  ApplyResult,
  CredentialsRotation,
  PlatformDocument,
  ResourceDefinitionView,
  ResourceExplanation,
  CreateAppInput,
  CreateEnvInput,
  DefinitionDeletion,
  DeleteEnvOptions,
  EnvironmentTeardown,
  Deployment,
  DeploymentEvent,
  DeploymentDiff,
  DeploymentPlan,
  DeploymentRequest,
  DeploymentSet,
  DeploymentStreamItem,
  Environment,
  EnvironmentStatus,
  EnvironmentType,
  Health,
  Identity,
  LogLine,
  LogsOptions,
  Page,
  TargetView,
  UploadedContext,
  Value,
  ValueChange,
  ValuesChange,
  ValuesChangeResult,
  ValuesList,
  ValuesPage,
  ValuesScope,
  AuditEntry,
  AuditFilter,
  AuditVerification,
  CreatedToken,
  CreateTeamInput,
  CreateTokenInput,
  CreateUserInput,
  LoginResult,
  RoleBindingFilter,
  RoleBindingInput,
  RoleBindingView,
  Team,
  TokenInfo,
  TokenOwner,
  UpdateUserInput,
  User,
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

/** {@link RequestOptions} plus what streams and uploads need. */
interface SendOptions extends RequestOptions {
  headers?: Record<string, string>;
  /** Sent as is, instead of `body` as JSON; set `content-type` in `headers`. */
  rawBody?: Uint8Array;
}

export interface ListOptions {
  /** Page size asked of the server (it defaults to 100 and allows at most 500). */
  limit?: number;
  signal?: AbortSignal;
  /** Query parameters of the list itself (filters); `undefined` values are left out. */
  query?: Record<string, string | undefined>;
}

/** The statuses of the error table, for answers that do not carry the error shape. */
const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'INVALID_INPUT',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  429: 'TOO_MANY_REQUESTS',
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
  async deleteEnv(app: string, env: string, options: DeleteEnvOptions = {}): Promise<EnvironmentTeardown> {
    const answer = await this.request<EnvironmentTeardown | undefined>('DELETE', envPath(app, env), {
      query: { deleteData: options.deleteData === true ? 'true' : undefined },
    });
    return answer ?? { deprovisioned: [], kept: [], messages: [] };
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
   * Whether the server already has a build context (`HEAD …/contexts/{hash}`), so that an
   * unchanged folder is never uploaded twice.
   *
   * @example
   * if (!(await client.hasContext('shop', packed.hash))) await client.uploadContext('shop', packed.hash, packed.gzip);
   */
  async hasContext(app: string, hash: string, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    const path = `${appPath(app)}/contexts/${segment(hash)}`;
    const response = await this.#send('HEAD', path, options);
    // HEAD answers carry no body: 404 is all the server can say. Should the app be the missing
    // part, the upload that follows fails with the server's full message.
    if (response.status === 404) return false;
    await this.#ensureOk(response, 'HEAD', path);
    return true;
  }

  /**
   * Uploads a gzip-compressed build context under its hash (see `packContext`).
   *
   * @example
   * await client.uploadContext('shop', 'sha256:…', gzipBytes);
   */
  async uploadContext(
    app: string,
    hash: string,
    gzip: Uint8Array,
    options: { signal?: AbortSignal } = {},
  ): Promise<UploadedContext> {
    const path = `${appPath(app)}/contexts/${segment(hash)}`;
    const response = await this.#send('PUT', path, {
      rawBody: gzip,
      headers: { 'content-type': 'application/gzip' },
      ...options,
    });
    return this.#json<UploadedContext>(response, 'PUT', path);
  }

  /**
   * Starts a deployment: the server validates every Score file, stores the deployment as `queued`
   * and runs it when the environment has none running.
   *
   * @example
   * const deployment = await client.deploy('shop', 'dev', { workloads: [{ file: 'score.yaml', score }] });
   */
  deploy(app: string, env: string, request: DeploymentRequest): Promise<Deployment> {
    return this.request<Deployment>('POST', `${envPath(app, env)}/deployments`, {
      body: { ...request, plan: false },
    });
  }

  /**
   * What a deployment would change, per workload and per resource; nothing is stored or started.
   *
   * @example
   * const plan = await client.planDeployment('shop', 'dev', request); // plan.summary
   */
  planDeployment(app: string, env: string, request: DeploymentRequest): Promise<DeploymentPlan> {
    return this.request<DeploymentPlan>('POST', `${envPath(app, env)}/deployments`, {
      body: { ...request, plan: true },
    });
  }

  /**
   * The deployments of an environment, newest first.
   *
   * @example
   * const [latest] = await client.listDeployments('shop', 'dev');
   */
  listDeployments(app: string, env: string, options: ListOptions = {}): Promise<Deployment[]> {
    return this.listAll<Deployment>(`${envPath(app, env)}/deployments`, options);
  }

  /**
   * One deployment, with its steps.
   *
   * @example
   * const { status, steps } = await client.getDeployment('shop', 'dev', 3);
   */
  getDeployment(app: string, env: string, number: number): Promise<Deployment> {
    return this.request<Deployment>('GET', deploymentPath(app, env, number));
  }

  /**
   * What differs from one deployment of an app to another, in one environment or across two.
   * Secret values are never part of it.
   *
   * @example
   * const diff = await client.diffDeployments('shop', { env: 'staging', number: 12 }, { env: 'production', number: 4 });
   */
  diffDeployments(
    app: string,
    from: { env: string; number: number },
    to: { env: string; number: number },
  ): Promise<DeploymentDiff> {
    return this.request<DeploymentDiff>('GET', `${appPath(app)}/deployments/diff`, {
      query: { from: `${from.env}:${from.number}`, to: `${to.env}:${to.number}` },
    });
  }

  /**
   * Rolls an environment back to deployment `number`: a new deployment of exactly its set, with
   * the app's and the environment's values restored to the versions it pinned. Only a succeeded
   * deployment can be rolled back to; data is never touched.
   *
   * @example
   * const deployment = await client.rollback('shop', 'dev', 7, { message: 'bad release' });
   */
  rollback(
    app: string,
    env: string,
    number: number,
    options: { message?: string } = {},
  ): Promise<Deployment> {
    return this.request<Deployment>('POST', `${envPath(app, env)}/rollback`, {
      body: { deployment: number, ...options },
    });
  }

  /**
   * Deploys the set environment `from` runs now to environment `to`, with `to`'s own values and
   * definitions.
   *
   * @example
   * const deployment = await client.promote('shop', { from: 'staging', to: 'production' });
   */
  promote(app: string, options: { from: string; to: string; message?: string }): Promise<Deployment> {
    const { to, ...body } = options;
    return this.request<Deployment>('POST', `${envPath(app, to)}/promote`, {
      body: { ...body, plan: false },
    });
  }

  /**
   * What promoting `from` to `to` would change; nothing is created.
   *
   * @example
   * const plan = await client.planPromotion('shop', { from: 'staging', to: 'production' }); // plan.summary
   */
  planPromotion(app: string, options: { from: string; to: string }): Promise<DeploymentPlan> {
    return this.request<DeploymentPlan>('POST', `${envPath(app, options.to)}/promote`, {
      body: { from: options.from, plan: true },
    });
  }

  /**
   * A deployment set: the workloads a deployment's `setId` names.
   *
   * @example
   * const set = await client.getDeploymentSet('shop', deployment.setId);
   */
  getDeploymentSet(app: string, setId: string): Promise<DeploymentSet> {
    return this.request<DeploymentSet>('GET', `${appPath(app)}/sets/${segment(setId)}`);
  }

  /**
   * Cancels a queued or running deployment; the environment stays on what it ran before.
   *
   * @example
   * await client.cancelDeployment('shop', 'dev', 4);
   */
  cancelDeployment(app: string, env: string, number: number): Promise<Deployment> {
    return this.request<Deployment>('POST', `${deploymentPath(app, env, number)}/cancel`);
  }

  /**
   * Follows a deployment's progress: yields each event as it happens (from the first, or after
   * `after`), then `{ kind: 'end', deployment }` once it has finished. A connection that drops
   * before the end is resumed once with `Last-Event-ID`, so a proxy's idle timeout or a server
   * restart does not lose events or repeat them.
   *
   * @example
   * for await (const item of client.deploymentEvents('shop', 'dev', 3)) {
   *   if (item.kind === 'event') console.log(item.event.message);
   *   else console.log(item.deployment.status);
   * }
   */
  async *deploymentEvents(
    app: string,
    env: string,
    number: number,
    options: { after?: number; signal?: AbortSignal } = {},
  ): AsyncGenerator<DeploymentStreamItem> {
    const path = `${deploymentPath(app, env, number)}/events`;
    let lastId: string | undefined = options.after === undefined ? undefined : String(options.after);
    let reconnects = 0;
    for (;;) {
      let dropped: unknown;
      try {
        const response = await this.#send('GET', path, {
          headers: {
            accept: 'text/event-stream',
            ...(lastId === undefined ? {} : { 'last-event-id': lastId }),
          },
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        });
        await this.#ensureOk(response, 'GET', path);
        const parser = new SseParser();
        for await (const text of decodeText(response)) {
          for (const message of parser.push(text)) {
            if (message.id !== undefined) lastId = message.id;
            if (message.event === 'end') {
              yield { kind: 'end', deployment: this.#parseStreamJson<Deployment>(message.data, path) };
              return;
            }
            if (message.event === 'deployment-event' || message.event === 'message') {
              yield { kind: 'event', event: this.#parseStreamJson<DeploymentEvent>(message.data, path) };
            }
          }
        }
        parser.end();
        dropped = new Error('the stream ended before the deployment finished');
      } catch (error) {
        if (options.signal?.aborted === true) throw error;
        // The server's own refusals (404, 403…) are answers, not dropped connections.
        if (error instanceof PavedError && error.code !== 'UNAVAILABLE') throw error;
        dropped = error;
      }
      if (reconnects >= 1) {
        throw new PavedError(
          'UNAVAILABLE',
          `lost the event stream of deployment ${number} of ${app}/${env} twice (${networkReason(dropped)}); the deployment goes on: see it with "paved deployments get ${app} ${env} ${number}"`,
          { cause: dropped },
        );
      }
      reconnects += 1;
    }
  }

  /**
   * What an environment runs now: each workload's state, readiness, restarts and endpoints.
   *
   * @example
   * const { workloads } = await client.status('shop', 'dev');
   */
  status(app: string, env: string): Promise<EnvironmentStatus> {
    return this.request<EnvironmentStatus>('GET', `${envPath(app, env)}/status`);
  }

  /**
   * A workload's log lines, oldest first; with `follow`, keeps yielding new lines until the
   * signal aborts or the server ends the stream.
   *
   * @example
   * const controller = new AbortController();
   * for await (const line of client.logs('shop', 'dev', 'frontend', { follow: true, signal: controller.signal })) {
   *   console.log(line.line);
   * }
   */
  async *logs(
    app: string,
    env: string,
    workload: string,
    options: LogsOptions = {},
  ): AsyncGenerator<LogLine> {
    const path = `${envPath(app, env)}/workloads/${segment(workload)}/logs`;
    const response = await this.#send('GET', path, {
      query: {
        container: options.container,
        since: options.since,
        tail: options.tail,
        follow: options.follow === true ? 'true' : undefined,
      },
      headers: { accept: 'application/x-ndjson' },
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    await this.#ensureOk(response, 'GET', path);
    let buffer = '';
    try {
      for await (const text of decodeText(response)) {
        buffer += text;
        let newline = buffer.indexOf('\n');
        while (newline !== -1) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          if (line !== '') yield this.#parseStreamJson<LogLine>(line, path);
          newline = buffer.indexOf('\n');
        }
      }
    } catch (error) {
      // Ctrl-C while following is the normal way to stop; the caller knows it asked for it.
      if (options.signal?.aborted === true) return;
      throw error;
    }
    if (buffer.trim() !== '') yield this.#parseStreamJson<LogLine>(buffer.trim(), path);
  }

  /**
   * The active resources of an environment, secrets masked.
   *
   * @example
   * const routes = (await client.listResources('shop', 'dev')).filter((r) => r.type === 'route');
   */
  listResources(app: string, env: string, options: ListOptions = {}): Promise<ActiveResource[]> {
    return this.listAll<ActiveResource>(`${envPath(app, env)}/resources`, options);
  }

  /**
   * Deletes one active resource and its data (after the driver's dump, whose place is in
   * `messages`). A resource the current deployment uses needs `force`.
   *
   * @example
   * const { messages } = await client.deleteResource('shop', 'dev', 'postgres.default#orders.db');
   */
  deleteResource(
    app: string,
    env: string,
    uid: string,
    options: { force?: boolean } = {},
  ): Promise<{ uid: string; messages: string[] }> {
    return this.request('DELETE', `${envPath(app, env)}/resources/${encodeURIComponent(uid)}`, {
      query: { force: options.force === true ? 'true' : undefined },
    });
  }

  /**
   * Rotates the credentials of an active resource: new ones are set up, the environment is
   * redeployed with them (the answer comes once that deployment has finished), and the previous
   * ones are revoked only if it succeeded (`revoked`).
   *
   * @example
   * const { deployment, revoked } = await client.rotateCredentials('shop', 'dev', 'postgres.default#orders.db');
   */
  rotateCredentials(app: string, env: string, uid: string): Promise<CredentialsRotation> {
    return this.request(
      'POST',
      `${envPath(app, env)}/resources/${encodeURIComponent(uid)}/rotate-credentials`,
    );
  }

  /**
   * Applies platform configuration: every document is checked first, and nothing is stored
   * unless all are valid (`INVALID_INPUT` lists every problem with its file and line).
   *
   * @example
   * const result = await client.apply([{ file: 'pg.yaml', apiVersion: 'paved.dev/v1', kind: 'ResourceDefinition', metadata: { name: 'pg' }, spec }]);
   */
  apply(documents: readonly PlatformDocument[]): Promise<ApplyResult> {
    return this.request<ApplyResult>('POST', '/api/v1/apply', { body: { documents } });
  }

  /**
   * The resource definitions (latest version of each), by name.
   *
   * @example
   * const names = (await client.listDefinitions()).map((definition) => definition.name);
   */
  listDefinitions(options: ListOptions = {}): Promise<ResourceDefinitionView[]> {
    return this.listAll<ResourceDefinitionView>('/api/v1/resource-definitions', options);
  }

  /**
   * One resource definition (its latest version); `NOT_FOUND` when there is none of that name.
   *
   * @example
   * const { version } = await client.getDefinition('dev-postgres');
   */
  getDefinition(name: string): Promise<ResourceDefinitionView> {
    return this.request<ResourceDefinitionView>(
      'GET',
      `/api/v1/resource-definitions/${encodeURIComponent(name)}`,
    );
  }

  /**
   * Deletes a resource definition. `CONFLICT` (naming them in `details.resources`) while active
   * resources it made exist, unless `force` is set; forced, those resources keep their records.
   *
   * @example
   * const { resources } = await client.deleteDefinition('dev-postgres', { force: true });
   */
  deleteDefinition(name: string, options: { force?: boolean } = {}): Promise<DefinitionDeletion> {
    return this.request<DefinitionDeletion>(
      'DELETE',
      `/api/v1/resource-definitions/${encodeURIComponent(name)}`,
      {
        query: { force: options.force === true ? 'true' : undefined },
      },
    );
  }

  /**
   * The targets environments may run on, built in and applied, secrets masked.
   *
   * @example
   * const usable = (await client.listTargets()).filter((target) => target.available);
   */
  listTargets(options: ListOptions = {}): Promise<TargetView[]> {
    return this.listAll<TargetView>('/api/v1/targets', options);
  }

  /**
   * Which definition matches a workload's resource in an environment, and why the others do not.
   *
   * @example
   * const { winner } = await client.explainResource('shop', 'dev', 'orders', 'db');
   */
  explainResource(
    app: string,
    env: string,
    workload: string,
    resource: string,
  ): Promise<ResourceExplanation> {
    return this.request<ResourceExplanation>(
      'GET',
      `${envPath(app, env)}/workloads/${encodeURIComponent(workload)}/resources/${encodeURIComponent(resource)}/explain`,
    );
  }

  /**
   * Exchanges a user name and password for a personal token (what `paved login` does); needs no
   * token. The token is in the answer this once.
   *
   * @example
   * const { token } = await new PavedClient({ url }).login('alice', password);
   */
  login(
    name: string,
    password: string,
    options: { tokenName?: string; expires?: string } = {},
  ): Promise<LoginResult> {
    return this.request<LoginResult>('POST', '/api/v1/login', { body: { name, password, ...options } });
  }

  /**
   * Revokes the token the client uses (or ends its portal session).
   *
   * @example
   * await client.logout();
   */
  async logout(): Promise<void> {
    await this.request<undefined>('POST', '/api/v1/logout');
  }

  /**
   * Changes the caller's own password.
   *
   * @example
   * await client.changePassword(current, next);
   */
  async changePassword(currentPassword: string, newPassword: string): Promise<void> {
    await this.request<undefined>('PUT', '/api/v1/whoami/password', {
      body: { currentPassword, newPassword },
    });
  }

  /**
   * Users and service accounts (administrators); with `app`, that app's service accounts, which
   * its owners may list too.
   *
   * @example
   * const accounts = await client.listUsers({ kind: 'service-account' });
   */
  listUsers(
    filter: { kind?: 'user' | 'service-account'; app?: string } = {},
    options: ListOptions = {},
  ): Promise<User[]> {
    if (filter.app !== undefined)
      return this.listAll<User>(`${appPath(filter.app)}/service-accounts`, options);
    return this.listAll<User>('/api/v1/users', { ...options, query: { kind: filter.kind } });
  }

  /**
   * Creates a user or service account; a service account of an app goes through the app, so that
   * its owners may create it.
   *
   * @example
   * await client.createUser({ name: 'alice', password, role: 'member', teams: ['web'] });
   */
  createUser(input: CreateUserInput): Promise<User> {
    if (input.kind === 'service-account' && input.app !== undefined) {
      return this.request<User>('POST', `${appPath(input.app)}/service-accounts`, {
        body: { name: input.name, ...(input.role === undefined ? {} : { role: input.role }) },
      });
    }
    return this.request<User>('POST', '/api/v1/users', { body: input });
  }

  /**
   * One user or service account, with its teams and roles.
   *
   * @example
   * const alice = await client.getUser('alice');
   */
  getUser(name: string): Promise<User> {
    return this.request<User>('GET', `/api/v1/users/${segment(name)}`);
  }

  /**
   * Sets or removes a password, disables or enables a user or service account.
   *
   * @example
   * await client.updateUser('alice', { disabled: true });
   */
  updateUser(name: string, input: UpdateUserInput): Promise<User> {
    return this.request<User>('PATCH', `/api/v1/users/${segment(name)}`, { body: input });
  }

  /**
   * Disables a service account of an app (its owners may).
   *
   * @example
   * await client.disableServiceAccount('shop', 'shop-ci');
   */
  async disableServiceAccount(app: string, name: string): Promise<void> {
    await this.request<undefined>('DELETE', `${appPath(app)}/service-accounts/${segment(name)}`);
  }

  /**
   * Teams, by name.
   *
   * @example
   * const teams = await client.listTeams();
   */
  listTeams(options: ListOptions = {}): Promise<Team[]> {
    return this.listAll<Team>('/api/v1/teams', options);
  }

  /**
   * Creates a team.
   *
   * @example
   * await client.createTeam({ name: 'web', members: ['alice'] });
   */
  createTeam(input: CreateTeamInput): Promise<Team> {
    return this.request<Team>('POST', '/api/v1/teams', { body: input });
  }

  /**
   * One team with its members and roles.
   *
   * @example
   * const { members } = await client.getTeam('web');
   */
  getTeam(name: string): Promise<Team> {
    return this.request<Team>('GET', `/api/v1/teams/${segment(name)}`);
  }

  /**
   * Deletes a team (refused while an app names it as owner).
   *
   * @example
   * await client.deleteTeam('web');
   */
  async deleteTeam(name: string): Promise<void> {
    await this.request<undefined>('DELETE', `/api/v1/teams/${segment(name)}`);
  }

  /**
   * Adds a user or service account to a team.
   *
   * @example
   * await client.addTeamMember('web', 'bob');
   */
  addTeamMember(team: string, member: string): Promise<Team> {
    return this.request<Team>('PUT', `/api/v1/teams/${segment(team)}/members/${segment(member)}`);
  }

  /**
   * Removes a user or service account from a team.
   *
   * @example
   * await client.removeTeamMember('web', 'bob');
   */
  async removeTeamMember(team: string, member: string): Promise<void> {
    await this.request<undefined>('DELETE', `/api/v1/teams/${segment(team)}/members/${segment(member)}`);
  }

  /**
   * Tokens of the caller, of any principal (administrators), or of an app's service account.
   *
   * @example
   * const mine = await client.listTokens({ own: true });
   */
  listTokens(owner: TokenOwner = { own: true }): Promise<TokenInfo[]> {
    return this.listAll<TokenInfo>(tokensPath(owner));
  }

  /**
   * Creates a token; its secret is in the answer this once.
   *
   * @example
   * const { token } = await client.createToken({ app: 'shop', serviceAccount: 'shop-ci' }, { name: 'ci', expires: '30d' });
   */
  createToken(owner: TokenOwner, input: CreateTokenInput): Promise<CreatedToken> {
    return this.request<CreatedToken>('POST', tokensPath(owner), { body: input });
  }

  /**
   * Revokes a token: it stops working on the next request.
   *
   * @example
   * await client.revokeToken({ own: true }, id);
   */
  async revokeToken(owner: TokenOwner, id: string): Promise<void> {
    await this.request<undefined>('DELETE', `${tokensPath(owner)}/${segment(id)}`);
  }

  /**
   * Role bindings; with `app`, the app's (its owners may list them), else all (administrators).
   *
   * @example
   * const bindings = await client.listRoleBindings({ subject: 'user:alice' });
   */
  listRoleBindings(filter: RoleBindingFilter = {}): Promise<RoleBindingView[]> {
    if (filter.app !== undefined && filter.subject === undefined && filter.role === undefined) {
      return this.listAll<RoleBindingView>(`${appPath(filter.app)}/role-bindings`);
    }
    return this.listAll<RoleBindingView>('/api/v1/role-bindings', { query: { ...filter } });
  }

  /**
   * Grants a role; an app role goes through the app, so that its owners may grant it.
   *
   * @example
   * await client.grantRole({ role: 'developer', subject: 'team:web', app: 'shop' });
   */
  grantRole(input: RoleBindingInput): Promise<RoleBindingView> {
    if (input.app !== undefined && input.envType === undefined && APP_ROLES.has(input.role)) {
      return this.request<RoleBindingView>('POST', `${appPath(input.app)}/role-bindings`, {
        body: { role: input.role, subject: input.subject },
      });
    }
    return this.request<RoleBindingView>('POST', '/api/v1/role-bindings', { body: input });
  }

  /**
   * Revokes a role binding.
   *
   * @example
   * await client.revokeRole({ role: 'developer', subject: 'team:web', app: 'shop' });
   */
  async revokeRole(input: RoleBindingInput): Promise<void> {
    const query = { role: input.role, subject: input.subject };
    if (input.app !== undefined && input.envType === undefined && APP_ROLES.has(input.role)) {
      await this.request<undefined>('DELETE', `${appPath(input.app)}/role-bindings`, { query });
      return;
    }
    await this.request<undefined>('DELETE', '/api/v1/role-bindings', {
      query: { ...query, app: input.app, envType: input.envType },
    });
  }

  /**
   * Pages of audit entries (newest first unless `order: 'asc'`); with `app`, the app's entries,
   * which its owners may read.
   *
   * @example
   * for await (const page of client.auditPages({ since: '24h' })) for (const entry of page.items) console.log(entry.action);
   */
  async *auditPages(filter: AuditFilter = {}, options: ListOptions = {}): AsyncGenerator<Page<AuditEntry>> {
    const { app, ...query } = filter;
    const path = app === undefined ? '/api/v1/audit' : `${appPath(app)}/audit`;
    yield* this.pages<Page<AuditEntry>>(path, { ...options, query: { ...options.query, ...query } });
  }

  /**
   * Checks the audit log's hash chain (administrators).
   *
   * @example
   * const { ok, broken } = await client.verifyAudit();
   */
  verifyAudit(): Promise<AuditVerification> {
    return this.request<AuditVerification>('GET', '/api/v1/audit/verify');
  }

  async #json<T>(response: Response, method: string, path: string): Promise<T> {
    await this.#ensureOk(response, method, path);
    const text = await response.text();
    if (text === '') return undefined as T;
    return this.#parseStreamJson<T>(text, path);
  }

  #parseStreamJson<T>(text: string, path: string): T {
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new PavedError(
        'INTERNAL',
        `the server at ${this.url} sent something that is not JSON on ${path}; check that the URL points at a Paved server`,
        { cause: error },
      );
    }
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
        query: { ...options.query, after, limit: options.limit },
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
    const response = await this.#send(method, path, options);
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

  /**
   * Sends one request and returns the response as it is, unread, whatever its status; for
   * streams and routes whose status is the answer (`HEAD`). Network failures are `UNAVAILABLE`.
   */
  async #send(method: string, path: string, options: SendOptions = {}): Promise<Response> {
    const url = new URL(`${this.url}${path}`);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    let body: string | Uint8Array | undefined;
    if (options.rawBody !== undefined) {
      body = options.rawBody;
    } else if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    try {
      return await this.#fetch(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
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
  }

  /** Fails with the server's error unless the response is 2xx; the body is consumed then. */
  async #ensureOk(response: Response, method: string, path: string): Promise<void> {
    if (response.ok) return;
    throw this.#errorFrom(response, await response.text(), method, path);
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

/** The app roles, granted through the app's own route so that its owners may. */
const APP_ROLES = new Set(['viewer', 'developer', 'owner']);

function tokensPath(owner: TokenOwner): string {
  if ('own' in owner) return '/api/v1/tokens';
  if ('user' in owner) return `/api/v1/users/${segment(owner.user)}/tokens`;
  return `${appPath(owner.app)}/service-accounts/${segment(owner.serviceAccount)}/tokens`;
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

function deploymentPath(app: string, env: string, number: number): string {
  return `${envPath(app, env)}/deployments/${number}`;
}

/** A response body as text chunks, decoded as UTF-8 across chunk boundaries. */
async function* decodeText(response: Response): AsyncGenerator<string> {
  if (response.body === null) return;
  const decoder = new TextDecoder();
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    const text = decoder.decode(chunk, { stream: true });
    if (text !== '') yield text;
  }
  const rest = decoder.decode();
  if (rest !== '') yield rest;
}

function valuesPath(scope: ValuesScope): string {
  return `${scope.env === undefined ? appPath(scope.app) : envPath(scope.app, scope.env)}/values`;
}
