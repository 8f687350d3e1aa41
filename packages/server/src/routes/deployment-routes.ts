import { PavedError, SECRET_MASK, type ResourceGraphJson } from '@paved/core';
import type { Deployment, DeploymentEvent } from '@paved/store';
import { z } from 'zod';
import type { ContextStore } from '../contexts/context-store.js';
import type { DeploymentEngine } from '../deployments/deployment-engine.js';
import { DEPLOYMENT_BODY_LIMIT_BYTES, deploymentRequestSchema } from '../deployments/deployment-request.js';
import type { ServerContext } from '../server-context.js';
import { parseDurationSeconds } from '../duration.js';
import {
  activeResourceSchema,
  contextUploadSchema,
  deploymentPlanSchema,
  deploymentSchema,
  statusSchema,
} from './deployment-schemas.js';
import { requireApp, requireEnvironment } from './lookups.js';
import { defineRoute, type AnyRoute } from './route.js';
import { appName, envName, pageOf, pageQuery } from './schemas.js';
import { appScope, caller, environmentScope } from './scopes.js';

const envParams = z.object({ app: appName, env: envName });
/** The graph as the portal draws it: nodes without their params, edges with their placeholders. */
const graphSchema = z.object({
  nodes: z.array(
    z.object({
      id: z.string(),
      kind: z.enum(['resource', 'workload']),
      type: z.string().optional(),
      class: z.string().optional(),
      resId: z.string().optional(),
      shared: z.boolean().optional(),
      workload: z.string().optional(),
      claims: z.array(z.object({ workload: z.string(), name: z.string() })).optional(),
      status: z
        .enum(['pending', 'provisioning', 'provisioned', 'failed', 'skipped'])
        .meta({ description: 'Resources: their provisioning; workloads: their apply to the target.' }),
      startedAt: z.string().optional(),
      finishedAt: z.string().optional(),
      durationMs: z.number().optional(),
      error: z.string().optional().meta({ description: 'Why it failed.' }),
    }),
  ),
  edges: z.array(z.object({ from: z.string(), to: z.string(), placeholders: z.array(z.string()) })),
});

function graphToWire(graph: ResourceGraphJson): z.infer<typeof graphSchema> {
  return {
    nodes: graph.nodes.map((node) => {
      // Graphs stored before nodes carried progress have none: shown as pending.
      const progress = {
        status: node.status ?? 'pending',
        ...(node.startedAt === undefined ? {} : { startedAt: node.startedAt }),
        ...(node.finishedAt === undefined ? {} : { finishedAt: node.finishedAt }),
        ...(node.durationMs === undefined ? {} : { durationMs: node.durationMs }),
        ...(node.error === undefined ? {} : { error: node.error }),
      };
      return node.kind === 'workload'
        ? { id: node.id, kind: node.kind, workload: node.workload, ...progress }
        : {
            id: node.id,
            kind: node.kind,
            type: node.type,
            class: node.class,
            resId: node.resId,
            shared: node.shared,
            claims: node.claims,
            ...progress,
          };
    }),
    edges: graph.edges.map((edge) => ({ from: edge.from, to: edge.to, placeholders: edge.placeholders })),
  };
}

const deploymentParams = envParams.extend({
  n: z.coerce.number().int().min(1).meta({ description: 'The deployment number.' }),
});
const hashParam = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 lower-case hex digits>');

/** Deployments, status, logs, build contexts and active resources. */
export function deploymentRoutes(): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/apps/{app}/contexts/{hash}',
      permission: 'deployments.create',
      summary: 'Whether a build context is uploaded (HEAD answers the same without a body)',
      params: z.object({ app: appName, hash: hashParam }),
      query: z.object({
        env: envName
          .optional()
          .meta({ description: 'The environment the context is for, for the permission check.' }),
      }),
      response: z.object({ hash: z.string() }),
      scope: async ({ params, query }, store) => contextScope(store, params.app, query.env),
      handler: async ({ params, server }) => {
        await requireApp(server.store, params.app);
        if (!requireContexts(server).has(params.hash)) {
          throw new PavedError(
            'NOT_FOUND',
            `build context ${params.hash} is not uploaded; upload it with PUT`,
            {
              details: { hash: params.hash },
            },
          );
        }
        return { hash: params.hash };
      },
    }),
    defineRoute({
      method: 'PUT',
      path: '/api/v1/apps/{app}/contexts/{hash}',
      permission: 'deployments.create',
      summary: 'Upload a build context (gzip-compressed tar; the hash is of the uncompressed tar)',
      description:
        'Send `Content-Type: application/gzip`. The server checks the hash, refuses a context over its limit (50 MiB compressed by default) with 413, and refuses entries that would land outside the context.',
      params: z.object({ app: appName, hash: hashParam }),
      query: z.object({
        env: envName
          .optional()
          .meta({ description: 'The environment the context is for, for the permission check.' }),
      }),
      response: contextUploadSchema,
      status: 201,
      scope: async ({ params, query }, store) => contextScope(store, params.app, query.env),
      handler: async ({ params, server, request }) => {
        await requireApp(server.store, params.app);
        const contentType = request.headers.get('content-type');
        if (
          contentType !== null &&
          !/^application\/(gzip|x-gzip|x-tar\+gzip|octet-stream)\s*(;|$)/i.test(contentType)
        ) {
          throw PavedError.invalid(
            `a build context is a gzip-compressed tar, not ${contentType}; send Content-Type: application/gzip`,
            [{ path: '', message: `unsupported Content-Type ${contentType}` }],
          );
        }
        const declared = Number(request.headers.get('content-length') ?? Number.NaN);
        const result = await requireContexts(server).receive(
          params.hash,
          request.body,
          Number.isFinite(declared) ? declared : undefined,
        );
        return { hash: result.hash, bytes: result.bytes };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/apps/{app}/envs/{env}/deployments',
      permission: 'deployments.create',
      summary: 'Deploy workloads to an environment (or, with "plan": true, show what would change)',
      description:
        'Validates every Score file before anything is stored (problems name the file as uploaded). Workloads not given are kept unless `prune`. Answers 201 with the queued deployment, or 200 with the plan.',
      params: envParams,
      body: deploymentRequestSchema,
      bodyLimitBytes: DEPLOYMENT_BODY_LIMIT_BYTES,
      response: z.union([deploymentSchema, deploymentPlanSchema]),
      status: 201,
      scope: async ({ params }, store) => environmentScope(store, params.app, params.env),
      handler: async ({ params, body, principal, server }) => {
        const engine = requireEngine(server);
        const environment = await requireEnvironment(server.store, params.app, params.env);
        if (body.plan === true) {
          return new Response(JSON.stringify(await engine.plan(environment, body)), {
            status: 200,
            headers: { 'content-type': 'application/json' },
          });
        }
        return deploymentToWire(await engine.submit(environment, body, caller(principal).name));
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/apps/{app}/envs/{env}/deployments',
      permission: 'deployments.read',
      summary: "List an environment's deployments, newest first",
      params: envParams,
      query: pageQuery,
      response: pageOf(deploymentSchema),
      handler: async ({ params, query, server }) => {
        await requireEnvironment(server.store, params.app, params.env);
        const page = await server.store.deployments.list(params.app, params.env, {
          ...query,
          limit: query.limit ?? 100,
        });
        return { items: page.items.map(deploymentToWire), next: page.next };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/apps/{app}/envs/{env}/deployments/{n}',
      permission: 'deployments.read',
      summary: 'Get a deployment',
      params: deploymentParams,
      response: deploymentSchema,
      handler: async ({ params, server }) =>
        deploymentToWire(await requireDeployment(server, params.app, params.env, params.n)),
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/apps/{app}/envs/{env}/deployments/{n}/graph',
      permission: 'deployments.read',
      summary: "A deployment's resource graph: resources and workloads, and which placeholders link them",
      params: deploymentParams,
      response: graphSchema,
      handler: async ({ params, server }) => {
        const deployment = await requireDeployment(server, params.app, params.env, params.n);
        if (deployment.graph === undefined || deployment.graph === null) {
          throw new PavedError(
            'NOT_FOUND',
            `deployment ${params.n} of ${params.app}/${params.env} has no resource graph: it ${deployment.status === 'queued' || deployment.status === 'running' ? 'has not reached the graph step yet' : 'stopped before the graph step'}`,
          );
        }
        return graphToWire(deployment.graph as ResourceGraphJson);
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/api/v1/apps/{app}/envs/{env}/deployments/{n}/cancel',
      permission: 'deployments.create',
      summary: 'Cancel a queued or running deployment; the environment stays on what it ran before',
      params: deploymentParams,
      response: deploymentSchema,
      scope: async ({ params }, store) => environmentScope(store, params.app, params.env),
      handler: async ({ params, principal, server }) => {
        await requireEnvironment(server.store, params.app, params.env);
        return deploymentToWire(
          await requireEngine(server).cancel(params.app, params.env, params.n, caller(principal).name),
        );
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/apps/{app}/envs/{env}/deployments/{n}/events',
      permission: 'deployments.read',
      summary: "Follow a deployment's events (Server-Sent Events)",
      description:
        'Each event: `event: deployment-event`, `id: <seq>`, `data: <event JSON>`. Once the deployment is finished: `event: end` with the deployment. `Last-Event-ID` or `?after=<seq>` resumes.',
      params: deploymentParams,
      query: z.object({ after: z.coerce.number().int().min(0).optional() }),
      response: z.string(),
      produces: 'text/event-stream',
      handler: async ({ params, query, server, request }) => {
        const deployment = await requireDeployment(server, params.app, params.env, params.n);
        const lastEventId = Number(request.headers.get('last-event-id') ?? Number.NaN);
        const after = Number.isFinite(lastEventId) ? lastEventId : (query.after ?? 0);
        return eventStream(server, deployment, after);
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/apps/{app}/envs/{env}/status',
      permission: 'status.read',
      summary: "The state of an environment's workloads and the URLs they answer on",
      params: envParams,
      response: statusSchema,
      handler: async ({ params, server }) => {
        const engine = requireEngine(server);
        const environment = await requireEnvironment(server.store, params.app, params.env);
        const [statuses, current, routes] = await Promise.all([
          engine
            .runtimeOf(environment)
            .then((runtime) => runtime.status({ app: params.app, env: params.env })),
          server.store.deployments.current(params.app, params.env),
          server.store.routes.list(params.app, params.env),
        ]);
        const port = engine.gatewayPort;
        return {
          app: params.app,
          env: params.env,
          deployment: current?.number ?? null,
          workloads: statuses.map((status) => ({
            name: status.name,
            state: status.state,
            ready: status.ready,
            ...(status.deployment === undefined ? {} : { deployment: status.deployment }),
            endpoints: routes
              .filter((route) => route.workload === status.name)
              .map((route) => `http://${route.host}:${port}${route.path}`),
            containers: status.containers.map((container) => ({
              name: container.name,
              state: container.state,
              restarts: container.restarts,
              ...(container.exitCode === undefined ? {} : { exitCode: container.exitCode }),
              ...(container.probeFailures === undefined ? {} : { probeFailures: container.probeFailures }),
              ...(container.lastProbeFailure === undefined
                ? {}
                : { lastProbeFailure: container.lastProbeFailure }),
            })),
            ...(status.message === undefined ? {} : { message: status.message }),
          })),
        };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/apps/{app}/envs/{env}/workloads/{workload}/logs',
      permission: 'logs.read',
      summary: "A workload's log lines as newline-delimited JSON, followed while follow=true",
      params: envParams.extend({ workload: z.string().min(1).max(63) }),
      query: z.object({
        container: z.string().min(1).optional(),
        since: z
          .string()
          .regex(/^\d+[smhd]$/, 'must be a duration such as 10m')
          .optional()
          .meta({ description: 'Only lines of the last duration, e.g. 10m.' }),
        tail: z.coerce.number().int().min(0).max(100_000).optional(),
        follow: z.enum(['true', 'false']).optional(),
      }),
      response: z.string(),
      produces: 'application/x-ndjson',
      handler: async ({ params, query, server }) => {
        const engine = requireEngine(server);
        const environment = await requireEnvironment(server.store, params.app, params.env);
        const runtime = await engine.runtimeOf(environment);
        const statuses = await runtime.status({ app: params.app, env: params.env });
        if (!statuses.some((status) => status.name === params.workload)) {
          throw new PavedError(
            'NOT_FOUND',
            `workload "${params.workload}" does not run in ${params.app}/${params.env}; paved status ${params.app} ${params.env} lists the workloads`,
            { details: { workload: params.workload } },
          );
        }
        const controller = new AbortController();
        const since =
          query.since === undefined
            ? undefined
            : new Date(server.clock.now().getTime() - (parseDurationSeconds(query.since) ?? 0) * 1000);
        const lines = runtime.logs({ app: params.app, env: params.env }, params.workload, {
          ...(query.container === undefined ? {} : { container: query.container }),
          ...(since === undefined ? {} : { since }),
          ...(query.tail === undefined ? {} : { tail: query.tail }),
          follow: query.follow === 'true',
          signal: controller.signal,
        });
        const iterator = lines[Symbol.asyncIterator]();
        const encoder = new TextEncoder();
        const body = new ReadableStream<Uint8Array>({
          async pull(stream) {
            const next = await iterator.next();
            if (next.done === true) {
              stream.close();
              return;
            }
            stream.enqueue(encoder.encode(`${JSON.stringify(next.value)}\n`));
          },
          async cancel() {
            // The client went away: stop following.
            controller.abort();
            await iterator.return?.();
          },
        });
        return new Response(body, {
          status: 200,
          headers: { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' },
        });
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/api/v1/apps/{app}/envs/{env}/resources',
      permission: 'resources.read',
      summary: "An environment's active resources (secret outputs masked)",
      params: envParams,
      response: pageOf(activeResourceSchema),
      handler: async ({ params, server }) => {
        await requireEnvironment(server.store, params.app, params.env);
        const resources = await server.store.resources.list(params.app, params.env);
        return {
          items: resources.map((resource) => ({
            uid: resource.uid,
            type: resource.type,
            class: resource.class,
            id: resource.resId,
            definition: resource.definition,
            definitionVersion: resource.definitionVersion,
            driver: resource.driver,
            status: resource.status,
            stateful: resource.stateful,
            outputs: resource.outputs,
            secrets: secretNames(server, resource.sealedSecrets),
            updatedAt: resource.updatedAt,
          })),
          next: null,
        };
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/api/v1/apps/{app}/envs/{env}/resources/{uid}',
      permission: 'resources.delete',
      summary: 'Delete one active resource and its data (after a dump where the driver makes one)',
      description:
        'Deprovisions the resource with the inputs of the definition that made it. A resource the current deployment still uses is refused (409) unless `force=true`; stateful resources a deploy no longer asks for are detached and kept until deleted here. The answer carries what the driver reported, such as where it wrote the dump.',
      params: envParams.extend({ uid: z.string().min(1).max(500) }),
      query: z.object({
        force: z
          .enum(['true', 'false'], { error: 'force is true or false' })
          .optional()
          .meta({ description: 'Delete even though the current deployment uses it.' }),
      }),
      response: z.object({ uid: z.string(), messages: z.array(z.string()) }),
      scope: async ({ params }, store) => environmentScope(store, params.app, params.env),
      handler: async ({ params, query, server, principal }) => {
        const environment = await requireEnvironment(server.store, params.app, params.env);
        return requireEngine(server).deleteResource(environment, params.uid, {
          force: query.force === 'true',
          actor: caller(principal).name,
        });
      },
    }),
  ];
}

export function deploymentToWire(deployment: Deployment): z.input<typeof deploymentSchema> {
  return {
    app: deployment.app,
    env: deployment.env,
    number: deployment.number,
    status: deployment.status,
    setId: deployment.setId,
    ...(deployment.message === undefined ? {} : { message: deployment.message }),
    actor: deployment.actor,
    createdAt: deployment.createdAt,
    ...(deployment.startedAt === undefined ? {} : { startedAt: deployment.startedAt }),
    ...(deployment.finishedAt === undefined ? {} : { finishedAt: deployment.finishedAt }),
    steps: deployment.steps,
    ...(deployment.error === undefined ? {} : { error: deployment.error }),
    workloads: deployment.workloads.map((workload) => workload.name),
    ...imagesOf(deployment),
    ...(deployment.valuesVersions === undefined ? {} : { valuesVersions: deployment.valuesVersions }),
    ...definitionsOf(deployment),
  };
}

/** The definition matched for each resource, as the stored graph's resource nodes carry it. */
function definitionsOf(deployment: Deployment): {
  definitions?: NonNullable<z.input<typeof deploymentSchema>['definitions']>;
} {
  const nodes = (deployment.graph as ResourceGraphJson | undefined)?.nodes;
  if (!Array.isArray(nodes)) return {};
  return {
    definitions: nodes.flatMap((node) =>
      node.kind === 'resource' && node.definition !== undefined
        ? [{ uid: node.id, name: node.definition.name, version: node.definition.version }]
        : [],
    ),
  };
}

/** The image digests recorded with the rendered workloads (see `withImages` in run-deployment). */
function imagesOf(deployment: Deployment): {
  images?: NonNullable<z.input<typeof deploymentSchema>['images']>;
} {
  if (!Array.isArray(deployment.rendered)) return {};
  const images = deployment.rendered.flatMap((entry: unknown) => {
    const { name, images: recorded } = entry as {
      name?: string;
      images?: { container: string; reference: string; digest: string }[];
    };
    return name === undefined || recorded === undefined
      ? []
      : recorded.map((image) => ({ workload: name, ...image }));
  });
  return images.length === 0 ? {} : { images };
}

function eventToWire(event: DeploymentEvent): Record<string, unknown> {
  return {
    seq: event.seq,
    time: event.time,
    level: event.level,
    type: event.type,
    ...(event.workload === undefined ? {} : { workload: event.workload }),
    message: event.message,
  };
}

const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);
/** How often a stream polls the store for a deployment another replica runs. */
const STREAM_POLL_MS = 1000;

/**
 * Replays the stored events after `after`, then follows: live from this server's bus, and by
 * polling the store (another replica may run the deployment). Ends with `event: end`.
 */
function eventStream(server: ServerContext, deployment: Deployment, after: number): Response {
  const engine = requireEngine(server);
  const { app, env, number } = deployment;
  const encoder = new TextEncoder();
  let lastSeq = after;
  let closed = false;
  let stop: () => void = () => undefined;
  const body = new ReadableStream<Uint8Array>({
    start(stream) {
      const send = (text: string): void => {
        if (!closed) stream.enqueue(encoder.encode(text));
      };
      const sendEvent = (event: DeploymentEvent): void => {
        if (event.seq <= lastSeq) return;
        lastSeq = event.seq;
        send(`event: deployment-event\nid: ${event.seq}\ndata: ${JSON.stringify(eventToWire(event))}\n\n`);
      };
      const finish = (finished: Deployment): void => {
        if (closed) return;
        send(`event: end\ndata: ${JSON.stringify(deploymentToWire(finished))}\n\n`);
        closed = true;
        stop();
        stream.close();
      };
      let busy = false;
      const catchUp = async (): Promise<void> => {
        if (busy || closed) return;
        busy = true;
        try {
          for (const event of await server.store.deployments.events(app, env, number, lastSeq))
            sendEvent(event);
          const now = await server.store.deployments.get(app, env, number);
          if (now !== undefined && FINISHED.has(now.status)) {
            // Events written just before the end are sent first.
            for (const event of await server.store.deployments.events(app, env, number, lastSeq))
              sendEvent(event);
            finish(now);
          }
        } catch {
          // The next poll tries again.
        } finally {
          busy = false;
        }
      };
      const unsubscribe = engine.events.subscribe(app, env, number, (signal) => {
        if (signal.kind === 'event') {
          // Live events may overtake the replay; the replay catches up on order.
          if (signal.event.seq === lastSeq + 1) sendEvent(signal.event);
          else void catchUp();
        } else {
          void catchUp();
        }
      });
      const timer = setInterval(() => void catchUp(), STREAM_POLL_MS);
      timer.unref();
      stop = () => {
        clearInterval(timer);
        unsubscribe();
      };
      send(': following\n\n');
      void catchUp();
    },
    cancel() {
      closed = true;
      stop();
    },
  });
  return new Response(body, {
    status: 200,
    headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' },
  });
}

function secretNames(server: ServerContext, sealed: string | undefined): Record<string, string> {
  if (sealed === undefined) return {};
  try {
    const secrets = JSON.parse(server.secrets.open(sealed)) as Record<string, unknown>;
    return Object.fromEntries(Object.keys(secrets).map((key) => [key, SECRET_MASK]));
  } catch {
    return {};
  }
}

async function requireDeployment(
  server: ServerContext,
  app: string,
  env: string,
  number: number,
): Promise<Deployment> {
  await requireEnvironment(server.store, app, env);
  const deployment = await server.store.deployments.get(app, env, number);
  if (deployment === undefined) {
    throw new PavedError(
      'NOT_FOUND',
      `deployment ${number} of ${app}/${env} does not exist; paved deployments list ${app} ${env} shows them`,
      { details: { app, env, deployment: number } },
    );
  }
  return deployment;
}

export function requireEngine(server: ServerContext): DeploymentEngine {
  if (server.deployments === undefined) {
    throw new PavedError(
      'UNAVAILABLE',
      'this server runs without a deployment engine (it was built without a data directory); start it with paved server',
    );
  }
  return server.deployments;
}

function requireContexts(server: ServerContext): ContextStore {
  if (server.contexts === undefined) {
    throw new PavedError(
      'UNAVAILABLE',
      'this server keeps no build contexts (it was built without a data directory); start it with paved server',
    );
  }
  return server.contexts;
}

async function contextScope(
  store: ServerContext['store'],
  app: string,
  env: string | undefined,
): ReturnType<typeof appScope> {
  return env === undefined ? appScope(store, app) : environmentScope(store, app, env);
}
