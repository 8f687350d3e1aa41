import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Clock } from '@paved/core';
import { PavedError } from '@paved/core';
import { openStore } from '@paved/store';
import { builtinDrivers } from '@paved/drivers';
import {
  DockerRuntime,
  ProcessRuntime,
  type DockerRuntimeOptions,
  type ProcessRuntimeOptions,
} from '@paved/runtimes';
import { createAdaptorServer } from '@hono/node-server';
import type { DestinationStream } from 'pino';
import { ensureAdministrator, ensureDataDir, loadOrCreateMasterKey } from './bootstrap.js';
import { ContextStore } from './contexts/context-store.js';
import { createServer } from './create-server.js';
import { DeploymentEngine } from './deployments/deployment-engine.js';
import { runtimeEventRecorder } from './deployments/runtime-events.js';
import { DEFAULT_GATEWAY_PORT, Gateway } from './gateway/gateway.js';
import { platformDefinitions } from './platform/platform-definitions.js';
import { MasterKeyFiles } from './secrets/master-key-files.js';
import type { SecretBox } from './secrets/secret-box.js';
import { createLogger } from './observability/logger.js';
import { detectDockerHost } from './targets/docker-host.js';
import { processSecretsFromDeployments } from './targets/process-secrets.js';
import type { RuntimeFactories, TargetRuntimes } from './targets/target-runtimes.js';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 7070;

export interface ServerOptions {
  /** Address to listen on; 127.0.0.1 by default. */
  host?: string;
  /** Port to listen on; 7070 by default, 0 for any free port. */
  port?: number;
  /** The data directory: SQLite database, master key, credential file. */
  dataDir: string;
  /** `postgres://…` to keep state in PostgreSQL instead of SQLite in the data directory. */
  databaseUrl?: string;
  /** Serve `/metrics` without a token. */
  metricsPublic?: boolean;
  /** pino level; `info` by default. */
  logLevel?: string;
  clock?: Clock;
  /** Port of the gateway that serves apps' routes (on `host`); 7080 by default, 0 for any free port. */
  gatewayPort?: number;
  /**
   * `embedded` (default): the gateway runs in this process on `gatewayPort`. `separate`: a
   * `paved gateway` process serves the routes on `gatewayPort` (not 0), which this server only
   * uses for the endpoints it shows; restarting this server then drops no app traffic.
   */
  gateway?: 'embedded' | 'separate';
  /**
   * Where the process target copies build contexts for its workloads; must lie outside the data
   * directory. Default: `<tmpdir>/paved-<hash of the data directory>/work`.
   */
  workDir?: string;
  /** Largest build context accepted, compressed; 50 MiB by default. */
  maxContextBytes?: number;
  /** Tuning of the process target (readiness timeout, probe interval, stop grace), mostly for tests. */
  processTarget?: Pick<
    ProcessRuntimeOptions,
    'readinessTimeoutMs' | 'probeIntervalMs' | 'graceMs' | 'backoff'
  >;
  /**
   * How runtimes of docker targets are made (built-in `docker` and applied `kind: Target`);
   * without a factory they are listed but unavailable.
   */
  runtimeFactories?: RuntimeFactories;
  /**
   * The Docker host of the built-in `docker` target; by default auto-detected (DOCKER_HOST, then
   * the usual socket paths). `false`: no built-in docker target, whatever is found.
   */
  dockerHost?: string | false;
  /** Tuning of docker targets (readiness timeout, probe interval, stop grace), mostly for tests. */
  dockerTarget?: Pick<
    DockerRuntimeOptions,
    'readinessTimeoutMs' | 'probeIntervalMs' | 'graceMs' | 'minUptimeMs' | 'sandboxImage' | 'nodeImage'
  >;
  /** Where JSON log lines go; standard output by default. */
  logDestination?: DestinationStream;
}

export interface RunningServer {
  /** The URL the server answers at, e.g. `http://127.0.0.1:7070`. */
  url: string;
  /** The URL of the gateway serving apps' routes, e.g. `http://127.0.0.1:7080`. */
  gatewayUrl: string;
  /** Whether that gateway runs in this process or is a separate `paved gateway`. */
  gateway: 'embedded' | 'separate';
  close(): Promise<void>;
}

/**
 * Runs `paved server`: prepares the data directory (mode 0700, master key), opens and migrates the
 * store, listens, and on the first start creates the administrator and its credential file.
 *
 * @example
 * const server = await startServer({ dataDir: '.paved', port: 0 });
 * console.log(server.url);
 * await server.close();
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const logger = createLogger({
    ...(options.logLevel === undefined ? {} : { level: options.logLevel }),
    ...(options.logDestination === undefined ? {} : { destination: options.logDestination }),
  });
  const dataDir = resolve(options.dataDir);
  await ensureDataDir(dataDir, logger);
  const masterKey = await loadOrCreateMasterKey(dataDir, logger);
  const store = await openStore({
    dataDir,
    ...(options.databaseUrl === undefined ? {} : { databaseUrl: options.databaseUrl }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  // Labels what the docker targets create, so another installation on the same engine is safe.
  const installation = await store.installationId().catch(async (error: unknown) => {
    await store.close();
    throw error;
  });

  const host = options.host ?? DEFAULT_HOST;
  let secretBox: SecretBox | undefined;
  const runtime = new ProcessRuntime({
    stateDir: join(dataDir, 'runtime', 'process'),
    workDir: options.workDir ?? defaultWorkDir(dataDir),
    ...options.processTarget,
    onEvent: runtimeEventRecorder({ logger, engine: () => engine, target: 'process' }),
    // A supervisor started again gets its secret values from the sealed deployment (ADR 0015).
    secretsOf: processSecretsFromDeployments(store, () => secretBox),
  });
  const separateGateway = options.gateway === 'separate';
  if (separateGateway && options.gatewayPort === 0) {
    await store.close();
    throw new PavedError(
      'INVALID_INPUT',
      'with a separate gateway, --gateway-port names the port "paved gateway" listens on and cannot be 0; give that port',
    );
  }
  const gateway = separateGateway ? undefined : new Gateway({ store, logger });
  let gatewayPort = options.gatewayPort ?? DEFAULT_GATEWAY_PORT;
  let engine: DeploymentEngine | undefined;
  let targets: TargetRuntimes | undefined;
  const dockerHost = options.dockerHost === false ? undefined : (options.dockerHost ?? detectDockerHost());

  try {
    const { app, context } = createServer({
      store,
      masterKey,
      masterKeyFiles: new MasterKeyFiles(dataDir),
      logger,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.metricsPublic === undefined ? {} : { metricsPublic: options.metricsPublic }),
      processRuntime: runtime,
      runtimeFactories: options.runtimeFactories ?? {
        docker: (target) =>
          new DockerRuntime({
            name: target.name,
            installation,
            host: target.host,
            registries: target.registries,
            // The workloads' port forwarders outlive the server; their files stay with its data.
            stateDir: join(dataDir, 'runtime', 'docker', target.name),
            ...options.dockerTarget,
            // What the target itself says wins over the server's defaults for every docker target.
            ...(target.nodeImage === undefined ? {} : { nodeImage: target.nodeImage }),
            ...(target.sandboxImage === undefined ? {} : { sandboxImage: target.sandboxImage }),
            onEvent: runtimeEventRecorder({ logger, engine: () => engine, target: target.name }),
          }),
      },
      ...(dockerHost === undefined ? {} : { dockerHost }),
      deployments: (context) => {
        const contexts = new ContextStore(dataDir, options.maxContextBytes);
        engine = new DeploymentEngine({
          store,
          secrets: context.secrets,
          clock: context.clock,
          logger,
          targets: context.targets,
          drivers: builtinDrivers(),
          definitions: () => platformDefinitions(store, context.secrets),
          contexts,
          gateway: { port: () => gatewayPort, routesChanged: async () => gateway?.refresh() },
          audit: context.audit,
          dumpDir: (app, env) => join(dataDir, 'dumps', app, env),
        });
        return { engine, contexts };
      },
    });
    targets = context.targets;
    // A rotation a crash interrupted is finished before anything opens a secret.
    await context.masterKeyRotation?.resume();
    secretBox = context.secrets;
    // Workloads of the current deployments are found again, and kept when they are alive; a dead
    // supervisor is started again with secrets opened through the master key, hence only now.
    await runtime.init();
    logger.info(
      { dockerHost: dockerHost ?? null },
      dockerHost === undefined
        ? 'no Docker or Podman engine found: no built-in docker target'
        : 'built-in docker target found',
    );
    const server = createAdaptorServer({ fetch: app.fetch });
    await new Promise<void>((done, fail) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        const port = options.port ?? DEFAULT_PORT;
        fail(
          error.code === 'EADDRINUSE'
            ? new PavedError(
                'UNAVAILABLE',
                `port ${port} on ${host} is in use; stop what uses it or pass --port`,
                {
                  cause: error,
                },
              )
            : new PavedError('UNAVAILABLE', `cannot listen on ${host}:${port}: ${error.message}`, {
                cause: error,
              }),
        );
      });
      server.listen(options.port ?? DEFAULT_PORT, host, () => done());
    });
    const url = urlOf(host, (server.address() as AddressInfo).port);

    try {
      await ensureAdministrator(store, { dataDir, url, logger });
      if (gateway !== undefined) gatewayPort = await gateway.listen(host, gatewayPort);
      await engine?.start();
    } catch (error) {
      await new Promise((done) => server.close(done));
      await gateway?.close();
      throw error;
    }
    const gatewayUrl = urlOf(host, gatewayPort);
    logger.info({ url, gatewayUrl }, 'paved server listening');

    let closing: Promise<void> | undefined;
    return {
      url,
      gatewayUrl,
      gateway: separateGateway ? 'separate' : 'embedded',
      close: () =>
        (closing ??= (async () => {
          // Running stages stop at their next safe point; workloads keep running.
          await engine?.close();
          await gateway?.close();
          await new Promise<void>((done, fail) => {
            server.close((error) => (error === undefined ? done() : fail(error)));
            // Keep-alive connections would hold close() open until they time out.
            if ('closeAllConnections' in server) server.closeAllConnections();
          });
          await context.targets.close();
          await runtime.close();
          await store.close();
          logger.info({ url }, 'paved server stopped');
        })()),
    };
  } catch (error) {
    await targets?.close();
    await runtime.close();
    await store.close();
    throw error;
  }
}

/**
 * The process target's work directory: outside the data directory (workloads must not reach it),
 * stable per data directory so a restarted server finds its workloads' copies again.
 */
function defaultWorkDir(dataDir: string): string {
  const id = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
  return join(tmpdir(), `paved-${id}`, 'work');
}

/** The URL clients use: a wildcard address is reached through loopback on this machine. */
function urlOf(host: string, port: number): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}
