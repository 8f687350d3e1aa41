import {
  PavedError,
  type DeprovisionRequest,
  type ProvisionContext,
  type ProvisionRequest,
  type ProvisionResult,
  type ResourceContainers,
  type ResourceDriver,
} from '@paved/core';
import { z } from 'zod';
import { abortableDelay } from '../support/abortable-delay.js';
import { parseDriverInputs } from '../support/parse-driver-inputs.js';
import { defaultDumpDir, dumpFile } from '../support/server-operations.js';
import { generatePassword, knownPassword, parseDriverState, redact } from '../support/shared-credentials.js';
import { checkContainerNames, containerNames, type ContainerNames } from './container-names.js';
import {
  CONTAINER_SERVERS,
  isContainerServerType,
  type ContainerServer,
  type ServerCredentials,
} from './container-servers.js';

export const CONTAINER_DRIVER_ID = 'container';

const inputs = z.strictObject({
  /** The image to run instead of the type's official one (same environment contract). */
  image: z.string().min(1).optional(),
  /** How long the server may take to accept its first login (a first start initialises its data). */
  readyTimeoutSeconds: z.number().int().min(1).max(3600).default(180),
});

const stateSchema = z.strictObject({
  version: z.literal(1),
  type: z.enum(['postgres', 'mysql', 'redis', 'amqp']),
  container: z.string(),
  volume: z.string(),
  database: z.string(),
  username: z.string(),
  image: z.string(),
});
export type ContainerState = z.output<typeof stateSchema>;

/** How often the readiness check tries again, and how long one attempt may take. */
const RETRY_MS = 500;
const ATTEMPT_MS = 5000;
/** Refusals in a row that mean the credentials are wrong, not that the server is still starting. */
const REFUSALS = 3;
/** Restarts by the engine after which a server that never answered is considered crashing. */
const CRASH_RESTARTS = 3;
const LOG_LINES = 20;

function serverFor(request: { resource: { uid: string; type: string } }): ContainerServer {
  const { type, uid } = request.resource;
  if (isContainerServerType(type)) return CONTAINER_SERVERS[type];
  throw new PavedError(
    'INVALID_INPUT',
    `driver "container" runs servers for types ${Object.keys(CONTAINER_SERVERS).join(', ')}; resource "${uid}" is of type ${type}: use another driver in its definition`,
    { details: { uid, type } },
  );
}

function containersOf(
  driverWhat: string,
  request: {
    resource: { uid: string; type: string };
    context: Pick<ProvisionContext, 'app' | 'env' | 'target' | 'containers'>;
  },
): ResourceContainers {
  const { context, resource } = request;
  if (context.containers !== undefined) return context.containers;
  throw new PavedError(
    'INVALID_INPUT',
    `driver "container" cannot ${driverWhat} resource "${resource.uid}" (type ${resource.type}): environment ${context.app}/${context.env} runs on ${context.target.kind} target "${context.target.name}", and only docker targets run servers of their own; ` +
      `apply a ResourceDefinition for type ${resource.type} matching this environment with another driver (e.g. "${resource.type}" on a shared server, see docs/infrastructure.md)`,
    { details: { uid: resource.uid, target: context.target.name } },
  );
}

function stateOf(uid: string, state: unknown): ContainerState | undefined {
  return parseDriverState(CONTAINER_DRIVER_ID, uid, stateSchema, state);
}

function namesFor(
  request: Pick<ProvisionRequest, 'resource'> & { context: { app: string; env: string } },
  state: ContainerState | undefined,
): ContainerNames {
  if (state === undefined) {
    return containerNames({ app: request.context.app, env: request.context.env, resource: request.resource });
  }
  return checkContainerNames(
    { container: state.container, volume: state.volume, database: state.database },
    request.resource.uid,
  );
}

async function provision(request: ProvisionRequest, signal: AbortSignal): Promise<ProvisionResult> {
  signal.throwIfAborted();
  const server = serverFor(request);
  const containers = containersOf('provision', request);
  const config = parseDriverInputs(CONTAINER_DRIVER_ID, inputs, request.inputs);
  const { resource, context } = request;
  const previous = stateOf(resource.uid, request.previousState);
  if (previous !== undefined && previous.type !== server.type) {
    throw new PavedError(
      'INVALID_INPUT',
      `driver "container": resource "${resource.uid}" was provisioned as a ${previous.type} server; its stored state does not fit type ${server.type}: restore the state or delete the resource`,
      { details: { uid: resource.uid } },
    );
  }
  const names = namesFor(request, previous);
  const username = server.username;
  const kept = knownPassword(request.previousSecrets, username);
  if (kept === undefined && previous !== undefined) {
    request.log?.(
      `the password of resource "${resource.uid}" was not handed back; a new one only takes effect on a server whose data volume is new`,
    );
  }
  let credentials: ServerCredentials = {
    username,
    password: kept ?? generatePassword(),
    database: server.type === 'redis' ? '' : names.database,
  };
  const image = config.image ?? server.image;
  const env = { app: context.app, env: context.env };
  const running = await containers.ensure(
    env,
    {
      resource: resource.uid,
      name: names.container,
      image,
      ...(server.command === undefined ? {} : { command: server.command }),
      env: server.environment(credentials),
      port: server.port,
      volume: { name: names.volume, target: server.dataPath },
    },
    signal,
  );
  // A container adopted after a provisioning that never got recorded: it runs with the password
  // that one generated, which its data was initialised with.
  const adopted = running.environment[server.passwordVariable];
  if (kept === undefined && !running.created && adopted !== undefined && adopted !== '') {
    credentials = { ...credentials, password: adopted };
  }
  request.log?.(
    running.created
      ? `started ${server.label} container "${names.container}" from ${image}${running.volumeExisted ? ` on the existing data of volume "${names.volume}"` : ` with new volume "${names.volume}"`}`
      : `${server.label} container "${names.container}" is there; checking it accepts connections`,
  );
  await waitUntilReady(
    server,
    containers,
    env,
    names,
    running,
    credentials,
    image,
    config.readyTimeoutSeconds,
    request,
    signal,
  );
  const state: ContainerState = {
    version: 1,
    type: server.type,
    container: names.container,
    volume: names.volume,
    database: names.database,
    username,
    image,
  };
  return { ...server.outputs(running.hostname, credentials), state };
}

/**
 * Logs in with the resource's credentials until it works: the server is ready only when it
 * accepts connections. Fails early when the container crashes or stops, or when the server keeps
 * refusing the credentials (data initialised with others), with the container's last log lines.
 */
async function waitUntilReady(
  server: ContainerServer,
  containers: ResourceContainers,
  env: { app: string; env: string },
  names: ContainerNames,
  running: { published: { host: string; port: number }; volumeExisted: boolean },
  credentials: ServerCredentials,
  image: string,
  timeoutSeconds: number,
  request: ProvisionRequest,
  signal: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  const where = `driver "container": ${server.label} container "${names.container}" (image ${image}) of resource "${request.resource.uid}"`;
  const fail = async (what: string, fix: string): Promise<never> => {
    const lines = await containers.logTail(env, names.container, LOG_LINES).catch(() => []);
    const secrets = Object.values(server.environment(credentials));
    throw new PavedError('DRIVER_FAILED', redact(`${where} ${what}; ${fix}`, secrets), {
      details: {
        uid: request.resource.uid,
        container: names.container,
        lastLogLines: lines.map((line) => redact(line, secrets)),
      },
    });
  };
  let refusals = 0;
  let lastError = 'no attempt yet';
  for (;;) {
    signal.throwIfAborted();
    try {
      await server.check(running.published, credentials, ATTEMPT_MS, signal);
      return;
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      lastError = error instanceof Error ? error.message : String(error);
      refusals = server.refused(error) ? refusals + 1 : 0;
    }
    if (refusals >= REFUSALS) {
      await fail(
        `refuses the resource's credentials (${lastError})`,
        running.volumeExisted
          ? `its data volume "${names.volume}" was initialised with other credentials (kept from an earlier resource of that name, or the resource's secrets were lost): delete the resource's data (paved resources delete, or remove the volume) or restore its secrets`
          : 'see its log lines; the next deploy tries again',
      );
    }
    const state = await containers.inspect(env, names.container);
    if (state === undefined) {
      await fail('vanished while it was starting', 'deploy again to create it anew');
    } else if (!state.running && state.status !== 'restarting' && state.status !== 'created') {
      await fail(
        `stopped before it accepted connections (${state.status}${state.exitCode === undefined ? '' : `, exit code ${state.exitCode}`})`,
        'see its log lines; fix the image or its data, then deploy again',
      );
    } else if (state.restarts >= CRASH_RESTARTS) {
      await fail(
        `keeps crashing before it accepts connections (${state.restarts} restarts)`,
        'see its log lines; fix the image or its data, then deploy again',
      );
    }
    if (Date.now() >= deadline) {
      await fail(
        `did not accept connections within ${timeoutSeconds} s (last attempt: ${lastError})`,
        "see its log lines, or raise the definition's input readyTimeoutSeconds",
      );
    }
    await abortableDelay(RETRY_MS, signal);
  }
}

async function deprovision(request: DeprovisionRequest, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  const server = serverFor(request);
  const containers = containersOf('deprovision', request);
  const state = stateOf(request.resource.uid, request.state);
  const names = namesFor(request, state);
  const env = { app: request.context.app, env: request.context.env };
  // The volume is the data: a copy of it first, as the other drivers dump theirs. A failure here
  // fails the deprovisioning with container and volume kept.
  const file = await dumpFile(request.dumpDir ?? defaultDumpDir(), names.volume, 'tar');
  const image =
    state?.image ?? parseDriverInputs(CONTAINER_DRIVER_ID, inputs, request.inputs).image ?? server.image;
  const taken = await containers.snapshot(
    env,
    { container: names.container, volume: names.volume },
    { path: server.dataPath, image },
    file,
    signal,
  );
  if (taken !== undefined) {
    request.log?.(
      `wrote a snapshot of ${server.label} data volume "${names.volume}" (${server.dataPath}, ${taken.bytes} bytes, tar) to ${file}`,
    );
  }
  await containers.remove(
    { app: request.context.app, env: request.context.env },
    { container: names.container, volume: names.volume },
    signal,
  );
  request.log?.(
    `removed ${server.label} container "${names.container}" and its data volume "${names.volume}"`,
  );
}

/**
 * `container`: a server of its own per resource (`postgres`, `mysql`, `redis`, `amqp`) in the
 * environment's network on docker targets, from the type's official image (`postgres:15`,
 * `mariadb:10.11`, `redis:7`, `rabbitmq:3`; input `image` to change it), with a named volume for
 * its data and credentials generated once and kept across deploys. Ready only once it accepts a
 * login with them. Workloads connect to the container's alias at the server's standard port.
 * Deprovisioning (never a deploy: the resource is stateful) writes a tar snapshot of the data volume
 * to the dump directory, then removes the container and the volume.
 *
 * @example
 * // what the docker targets' default definition for postgres amounts to
 * { name: 'default-postgres', type: 'postgres', driver: 'container', inputs: { values: { image: 'postgres:15' }, secrets: {} } }
 */
export function createContainerDriver(): ResourceDriver {
  return {
    id: CONTAINER_DRIVER_ID,
    inputs,
    stateful: true,
    outputNames: (request) => serverFor(request).outputNames,
    provision,
    deprovision,
  };
}
