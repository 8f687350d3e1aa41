import { createServer as createNetServer } from 'node:net';
import {
  DEPLOYMENT_STEPS,
  PavedError,
  type Clock,
  type CredentialsRequest,
  type ProvisionResult,
  type ResourceDefinition,
  type ResourceDriver,
  type Runtime,
  type RuntimeEvent,
} from '@paved/core';
import type {
  ActiveResource,
  Deployment,
  DeploymentEvent,
  DeploymentStep,
  DeploymentWorkload,
  Environment,
  Store,
} from '@paved/store';
import type { Logger } from 'pino';
import type { ContextStore } from '../contexts/context-store.js';
import type { SecretBox } from '../secrets/secret-box.js';
import type { RuntimeResolver } from '../targets/target-runtimes.js';
import { DeploymentEventBus } from './deployment-event-bus.js';
import type { DeploymentRequest } from './deployment-request.js';
import {
  planDeploymentRequest,
  runDeployment,
  type DeploymentPlanAnswer,
  type RunContext,
} from './run-deployment.js';
import { mergeWorkloads, setIdOf, workloadsOfRequest } from './workload-set.js';
import {
  auditInfrastructure,
  type InfrastructureAction,
  type InfrastructureAuditSink,
} from './infrastructure-audit.js';
import { deprovisionResource } from './deprovision-resource.js';
import { recoverInterruptedDeployment } from './crash-recovery.js';

/** What deleting an environment did to its resources. */
export interface EnvironmentTeardown {
  /** Resource uids deprovisioned (their data deleted, after a dump where the driver makes one). */
  deprovisioned: string[];
  /** Stateful resources kept with their data (no `--delete-data`). */
  kept: string[];
  /** What drivers reported: dump files written, what was removed. Never secrets. */
  messages: string[];
}

/** What `paved resources rotate-credentials` did. */
export interface CredentialsRotation {
  uid: string;
  /** The deployment that redeployed the workloads with the new credentials. */
  deployment: number;
  /** Whether the previous credentials were revoked (only after that deployment succeeded). */
  revoked: boolean;
  /** What the driver and the engine reported; never secrets. */
  messages: string[];
}

export const INTERRUPTED_MESSAGE = 'the server stopped during this deployment; deploy again';

/** How often the store is asked for work queued by another server replica. */
const POLL_MS = 1000;

export interface DeploymentEngineOptions {
  store: Store;
  secrets: SecretBox;
  clock: Clock;
  logger: Logger;
  /** Target name → runtime (`TargetRuntimes`: built-in and applied targets). */
  targets: RuntimeResolver;
  drivers: ReadonlyMap<string, ResourceDriver>;
  /** The definitions matching chooses from (the defaults, plus the platform team's later). */
  definitions: () => Promise<readonly ResourceDefinition[]> | readonly ResourceDefinition[];
  contexts: ContextStore;
  /** The gateway's port, for endpoints in status; and what to tell it when routes change. */
  gateway: { port: () => number; routesChanged?: () => Promise<void> };
  /** Where infrastructure changes are recorded: the server's audit log. */
  audit?: InfrastructureAuditSink;
  /** Where drivers write dumps of data they delete (e.g. `<data dir>/dumps/<app>/<env>`). */
  dumpDir?: (app: string, env: string) => string;
  /** Host ports given to workload ports on the process target. */
  portRange?: { from: number; to: number };
  pollMs?: number;
}

interface Running {
  controller: AbortController;
  done: Promise<void>;
}

/**
 * Runs deployments: takes requests (validated before anything is stored), queues them per
 * environment, and runs one at a time per environment through the stages validate → request →
 * match → graph → provision → render → plan → apply → record, recording every step and event.
 * One engine per server; several replicas share the queue through `claimNext`.
 */
export class DeploymentEngine {
  readonly events = new DeploymentEventBus();
  readonly #options: DeploymentEngineOptions;
  readonly #logger: Logger;
  /** Environments this engine is draining now, by `app\nenv`. */
  readonly #draining = new Map<string, Promise<void>>();
  /** Deployments running here, by `app\nenv\nnumber`. */
  readonly #running = new Map<string, Running>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: DeploymentEngineOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'deployments' });
  }

  get store(): Store {
    return this.#options.store;
  }

  get gatewayPort(): number {
    return this.#options.gateway.port();
  }

  /** @throws PavedError naming the environment when its target is unknown or cannot run here. */
  async runtimeOf(environment: Environment): Promise<Runtime> {
    try {
      return await this.#options.targets.runtime(environment.target);
    } catch (error) {
      if (!(error instanceof PavedError)) throw error;
      throw new PavedError(
        error.code === 'NOT_FOUND' ? 'UNAVAILABLE' : error.code,
        `environment "${environment.name}" of app "${environment.app}" runs on target "${environment.target}": ${error.message}`,
        { cause: error, details: { ...error.details, target: environment.target } },
      );
    }
  }

  /**
   * Marks deployments a stopped server left `running` as failed (their stages cannot resume),
   * then starts taking work.
   */
  async start(): Promise<void> {
    const { store, clock } = this.#options;
    for (const deployment of await store.deployments.listByStatus(['running'])) {
      const now = clock.now().toISOString();
      await store.deployments.update(deployment.app, deployment.env, deployment.number, {
        status: 'failed',
        finishedAt: now,
        error: INTERRUPTED_MESSAGE,
        steps: deployment.steps.map((step) =>
          step.status === 'running'
            ? { ...step, status: 'failed', finishedAt: now, error: INTERRUPTED_MESSAGE }
            : step.status === 'pending'
              ? { ...step, status: 'skipped' }
              : step,
        ),
      });
      await this.appendEvent(deployment, {
        level: 'error',
        type: 'deployment.failed',
        message: INTERRUPTED_MESSAGE,
      });
      this.#logger.warn(
        { app: deployment.app, env: deployment.env, deployment: deployment.number },
        'marked a deployment interrupted by a server stop as failed',
      );
      await this.#recover(deployment);
    }
    this.#timer = setInterval(() => void this.#poll(), this.#options.pollMs ?? POLL_MS);
    this.#timer.unref();
    await this.#poll();
  }

  /** Stops taking work, aborts what runs (marking it failed as interrupted) and waits for it. */
  async close(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const running of this.#running.values()) {
      running.controller.abort(new PavedError('UNAVAILABLE', INTERRUPTED_MESSAGE));
    }
    await Promise.allSettled([...this.#draining.values()]);
  }

  /**
   * Validates the request (every problem at once), merges it with the environment's current
   * workloads and queues it; the worker starts it when the environment is free.
   */
  async submit(environment: Environment, request: DeploymentRequest, actor: string): Promise<Deployment> {
    const { store, contexts } = this.#options;
    const given = workloadsOfRequest(request, contexts);
    await this.runtimeOf(environment);
    const current = await store.deployments.current(environment.app, environment.name);
    const workloads = mergeWorkloads(given, current?.workloads ?? [], request.prune === true);
    if (workloads.length === 0) {
      throw PavedError.invalid('the deployment has no workloads; give at least one Score file', [
        { path: 'workloads', message: 'no workloads given and none running' },
      ]);
    }
    return this.queue(environment, workloads, actor, {
      ...(request.message === undefined ? {} : { message: request.message }),
    });
  }

  /**
   * Queues a deployment of exactly `workloads` (the environment's whole set afterwards), pinning
   * the values versions: those `pinValues` writes (a rollback restores its own), else the latest
   * now, so the run renders with what was in force at submit however long it waits. The values
   * `pinValues` writes and the deployment are stored in one transaction: neither is there without
   * the other. Submit, rollback and promotion all end here.
   */
  async queue(
    environment: Environment,
    workloads: DeploymentWorkload[],
    actor: string,
    options: {
      message?: string;
      pinValues?: (tx: Store) => Promise<{ app: number; env: number }>;
    } = {},
  ): Promise<Deployment> {
    const deployment = await this.#options.store.transaction(async (tx) => {
      const valuesVersions =
        options.pinValues === undefined
          ? {
              app: await tx.values.currentVersion({ app: environment.app }),
              env: await tx.values.currentVersion({ app: environment.app, env: environment.name }),
            }
          : await options.pinValues(tx);
      return tx.deployments.create({
        app: environment.app,
        env: environment.name,
        setId: setIdOf(workloads),
        actor,
        workloads,
        valuesVersions,
        ...(options.message === undefined ? {} : { message: options.message }),
        steps: DEPLOYMENT_STEPS.map((name): DeploymentStep => ({ name, status: 'pending' })),
      });
    });
    await this.appendEvent(deployment, {
      level: 'info',
      type: 'deployment.queued',
      message: `deployment ${deployment.number} queued by ${actor} (${workloads.length} workload${workloads.length === 1 ? '' : 's'})`,
    });
    this.#kick(environment.app, environment.name);
    return deployment;
  }

  /**
   * What deploying exactly `workloads` (the whole set; missing ones would be removed) would
   * change, with no side effect: the plan of a promotion.
   */
  async planWorkloads(
    environment: Environment,
    workloads: DeploymentWorkload[],
  ): Promise<DeploymentPlanAnswer> {
    const runtime = await this.runtimeOf(environment);
    const current = await this.#options.store.deployments.current(environment.app, environment.name);
    return planDeploymentRequest(this.#runContext(environment, runtime), workloads, current);
  }

  /** What a request would change, with no side effect. */
  async plan(environment: Environment, request: DeploymentRequest): Promise<DeploymentPlanAnswer> {
    const given = workloadsOfRequest(request, this.#options.contexts);
    const runtime = await this.runtimeOf(environment);
    const current = await this.#options.store.deployments.current(environment.app, environment.name);
    const workloads = mergeWorkloads(given, current?.workloads ?? [], request.prune === true);
    return planDeploymentRequest(
      this.#runContext(environment, runtime),
      workloads,
      current,
      given.map((workload) => workload.name),
    );
  }

  /**
   * Cancels a queued deployment, or stops a running one here; the environment stays on what it
   * ran before.
   */
  async cancel(app: string, env: string, number: number, actor: string): Promise<Deployment> {
    const { store, clock } = this.#options;
    const deployment = await store.deployments.get(app, env, number);
    if (deployment === undefined) throw notFound(app, env, number);
    if (deployment.status === 'queued') {
      const now = clock.now().toISOString();
      const cancelled = await store.deployments.update(app, env, number, {
        status: 'cancelled',
        finishedAt: now,
        error: `cancelled by ${actor} before it started`,
        steps: deployment.steps.map((step) => ({ ...step, status: 'skipped' })),
      });
      await this.appendEvent(cancelled, {
        level: 'warn',
        type: 'deployment.cancelled',
        message: `cancelled by ${actor} before it started`,
      });
      this.events.publish(app, env, number, { kind: 'end', deployment: cancelled });
      return cancelled;
    }
    if (deployment.status === 'running') {
      const running = this.#running.get(runKey(app, env, number));
      if (running === undefined) {
        throw new PavedError(
          'CONFLICT',
          `deployment ${number} of ${app}/${env} runs on another server replica; cancel it through that server`,
          { details: { app, env, deployment: number } },
        );
      }
      running.controller.abort(new PavedError('CONFLICT', `cancelled by ${actor}`));
      await running.done;
      return (await store.deployments.get(app, env, number)) ?? deployment;
    }
    throw new PavedError(
      'CONFLICT',
      `deployment ${number} of ${app}/${env} has finished (${deployment.status}); there is nothing to cancel`,
      { details: { app, env, deployment: number, status: deployment.status } },
    );
  }

  /**
   * Removes what the environment runs and the resources provisioned for it (environment
   * deletion); the store cascades the records. Stateful resources (databases, volumes) are kept
   * with their data unless `deleteData` is set, and then deprovisioned after the driver's dump.
   *
   * @throws PavedError DRIVER_FAILED when a resource cannot be deprovisioned: the environment's
   *   records stay, so the deletion can be retried.
   */
  async destroyEnvironment(
    environment: Environment,
    deleteData: boolean,
    actor?: string,
  ): Promise<EnvironmentTeardown> {
    const teardown: EnvironmentTeardown = { deprovisioned: [], kept: [], messages: [] };
    for (const [key, running] of this.#running) {
      if (key.startsWith(`${environment.app}\n${environment.name}\n`)) {
        running.controller.abort(new PavedError('CONFLICT', 'the environment is being deleted'));
        await running.done;
      }
    }
    let runtime: Runtime;
    try {
      runtime = await this.runtimeOf(environment);
    } catch (error) {
      // An environment that never had a deployment runs nothing, e.g. one on a kubernetes target.
      const deployments = await this.#options.store.deployments.list(environment.app, environment.name, {
        limit: 1,
      });
      if (deployments.items.length === 0) return teardown;
      throw error;
    }
    const audit = (outcome: 'succeeded' | 'failed') =>
      auditInfrastructure(this.#options.audit, {
        action: 'environment.destroy',
        app: environment.app,
        env: environment.name,
        outcome,
        ...(actor === undefined ? {} : { actor }),
        details: { deleteData },
      });
    const envRef = { app: environment.app, env: environment.name };
    try {
      // Data stays for now: the drivers deprovision the stateful resources below, after their
      // dump or snapshot (a dedicated container's volume is copied before it goes).
      await runtime.destroy(envRef, { deleteData: false });
    } catch (error) {
      await audit('failed');
      throw error;
    }
    // Workloads are gone, so nothing uses the resources any more.
    const context = this.#runContext(environment, runtime);
    const dumpDir = this.#options.dumpDir?.(environment.app, environment.name);
    for (const resource of await this.#options.store.resources.list(environment.app, environment.name)) {
      if (resource.stateful && !deleteData) {
        teardown.kept.push(resource.uid);
        continue;
      }
      await deprovisionResource(context, resource, {
        ...(actor === undefined ? {} : { actor }),
        ...(dumpDir === undefined ? {} : { dumpDir }),
        log: (message) => teardown.messages.push(`${resource.uid}: ${message}`),
      });
      teardown.deprovisioned.push(resource.uid);
    }
    if (deleteData) {
      // What holds data without a resource record of its own (workload volumes on the target).
      try {
        await runtime.destroy(envRef, { deleteData: true });
      } catch (error) {
        await audit('failed');
        throw error;
      }
    }
    await audit('succeeded');
    return teardown;
  }

  /**
   * `paved resources delete`: deprovisions one active resource of an environment, after the
   * driver's dump where it makes one. A resource the current deployment still uses is refused
   * unless forced (its workloads would lose it); a deployment in progress is waited for by no one,
   * so deleting during one is refused.
   *
   * @throws PavedError NOT_FOUND (no such resource), CONFLICT (in use, or a deployment runs),
   *   DRIVER_FAILED (the driver failed; the resource is kept).
   */
  async deleteResource(
    environment: Environment,
    uid: string,
    options: { force?: boolean; actor?: string } = {},
  ): Promise<{ uid: string; messages: string[] }> {
    const { app, name: env } = environment;
    for (const key of this.#running.keys()) {
      if (key.startsWith(`${app}\n${env}\n`)) {
        throw new PavedError(
          'CONFLICT',
          `a deployment of ${app}/${env} is running; delete resource "${uid}" once it has finished`,
          { details: { app, env, uid } },
        );
      }
    }
    const resources = await this.#options.store.resources.list(app, env);
    const resource = resources.find((entry) => entry.uid === uid);
    if (resource === undefined) {
      throw new PavedError(
        'NOT_FOUND',
        `environment ${app}/${env} has no resource "${uid}"; its resources are ${resources.map((entry) => entry.uid).join(', ') || '(none)'} (paved resources list ${app} ${env})`,
        { details: { app, env, uid } },
      );
    }
    if (resource.status !== 'detached' && options.force !== true) {
      throw new PavedError(
        'CONFLICT',
        `resource "${uid}" of ${app}/${env} is used by the current deployment; remove it from the Score files and deploy (it is then detached and kept), then delete it, or delete it now with --force`,
        { details: { app, env, uid, status: resource.status } },
      );
    }
    const runtime = await this.runtimeOf(environment);
    const dumpDir = this.#options.dumpDir?.(app, env);
    const messages: string[] = [];
    await deprovisionResource(this.#runContext(environment, runtime), resource, {
      ...(options.actor === undefined ? {} : { actor: options.actor }),
      ...(dumpDir === undefined ? {} : { dumpDir }),
      log: (message) => messages.push(message),
    });
    return { uid, messages };
  }

  /**
   * `paved resources rotate-credentials`: gives an active resource new credentials in two steps.
   * The driver sets up the other login with a new password while the current one keeps working;
   * the new secrets are stored; a deployment redeploys the current workloads unchanged so they
   * start with them; and only once it succeeded are the previous credentials revoked. When it
   * fails, nothing is revoked and both logins keep working; called again, it finishes that
   * rotation (the driver says it is pending) instead of making another login.
   *
   * @throws PavedError CONFLICT (a deployment of the environment is queued or running, or nothing
   *   uses the resource), NOT_FOUND (no such resource, listing the
   *   environment's resources), INVALID_INPUT (its driver cannot rotate credentials),
   *   DRIVER_FAILED (the driver failed; what was done is named).
   */
  async rotateCredentials(
    environment: Environment,
    uid: string,
    actor: string,
  ): Promise<CredentialsRotation> {
    const { store, secrets } = this.#options;
    const { app, name: env } = environment;
    const busy = (await store.deployments.listByStatus(['queued', 'running'])).find(
      (deployment) => deployment.app === app && deployment.env === env,
    );
    if (busy !== undefined || [...this.#running.keys()].some((key) => key.startsWith(`${app}\n${env}\n`))) {
      throw new PavedError(
        'CONFLICT',
        `a deployment of ${app}/${env} is ${busy?.status ?? 'running'}${busy === undefined ? '' : ` (number ${busy.number})`}; rotate the credentials of "${uid}" once it has finished (paved deployments list ${app} ${env})`,
        { details: { app, env, uid, ...(busy === undefined ? {} : { deployment: busy.number }) } },
      );
    }
    const resources = await store.resources.list(app, env);
    const resource = resources.find((entry) => entry.uid === uid);
    if (resource === undefined) {
      throw new PavedError(
        'NOT_FOUND',
        `environment ${app}/${env} has no resource "${uid}"; its resources are ${resources.map((entry) => entry.uid).join(', ') || '(none)'} (paved resources list ${app} ${env})`,
        { details: { app, env, uid } },
      );
    }
    const driver = this.#options.drivers.get(resource.driver);
    if (driver?.rotateCredentials === undefined || driver.revokePreviousCredentials === undefined) {
      throw new PavedError(
        'INVALID_INPUT',
        driver === undefined
          ? `resource "${uid}" of ${app}/${env} was made by driver "${resource.driver}", which this server does not have, so its credentials cannot be rotated`
          : `resource "${uid}" of ${app}/${env} was made by driver "${resource.driver}", which hands out no credentials to rotate; only drivers such as postgres, mysql, redis and amqp rotate credentials`,
        { details: { app, env, uid, driver: resource.driver } },
      );
    }
    if (resource.status === 'detached') {
      throw new PavedError(
        'CONFLICT',
        `resource "${uid}" of ${app}/${env} is detached: nothing uses it, so there are no workloads to give new credentials; deploy a workload that uses it first, or delete it (paved resources delete ${app} ${env} '${uid}')`,
        { details: { app, env, uid, status: resource.status } },
      );
    }
    const current = await store.deployments.current(app, env);
    if (resource.status !== 'ready' || current === undefined) {
      throw new PavedError(
        'CONFLICT',
        `resource "${uid}" of ${app}/${env} is ${resource.status}${current === undefined ? ' and the environment has no succeeded deployment' : ''}; deploy the environment successfully first, then rotate its credentials`,
        { details: { app, env, uid, status: resource.status } },
      );
    }
    const runtime = await this.runtimeOf(environment);
    const definition = (await this.#options.definitions()).find(
      (entry) => entry.name === resource.definition,
    );
    const inputs = definition?.inputs ?? { values: {}, secrets: {} };
    const messages: string[] = [];
    const request = (stored: ActiveResource): CredentialsRequest => ({
      resource: {
        uid: stored.uid,
        type: stored.type,
        class: stored.class,
        id: stored.resId,
        params: {},
        metadata: {},
      },
      context: {
        app,
        env,
        envType: environment.type,
        target: { name: environment.target, kind: runtime.kind },
      },
      inputs,
      state: stored.state,
      secrets:
        stored.sealedSecrets === undefined
          ? {}
          : (JSON.parse(secrets.open(stored.sealedSecrets)) as Record<string, string>),
      log: (message) => messages.push(message),
    });
    const audit = (action: InfrastructureAction, outcome: 'succeeded' | 'failed', details = {}) =>
      auditInfrastructure(this.#options.audit, {
        action,
        app,
        env,
        subject: uid,
        outcome,
        actor,
        details: { driver: resource.driver, ...details },
      });
    const persist = async (stored: ActiveResource, result: ProvisionResult): Promise<void> => {
      const { updatedAt: _updatedAt, sealedSecrets: _sealed, ...kept } = stored;
      await store.resources.put({
        ...kept,
        state: result.state,
        outputs: result.outputs,
        ...(Object.keys(result.secrets).length === 0
          ? {}
          : { sealedSecrets: secrets.seal(JSON.stringify(result.secrets)) }),
      });
    };
    const driverFailed = (step: string, error: unknown, after: string): PavedError => {
      const reason = error instanceof Error ? error.message : String(error);
      return new PavedError(
        error instanceof PavedError && error.code === 'CONFLICT' ? 'CONFLICT' : 'DRIVER_FAILED',
        `${step} of resource "${uid}" of ${app}/${env} (driver ${resource.driver}) failed: ${reason}; ${after}`,
        { cause: error, details: { app, env, uid, driver: resource.driver } },
      );
    };

    let resumed = false;
    try {
      const rotated = await driver.rotateCredentials(request(resource), new AbortController().signal);
      await persist(resource, rotated);
    } catch (error) {
      // A rotation whose redeploy failed left its new login in place, unrevoked: finish that one
      // (redeploy, then revoke) rather than refuse, or the old login could never be revoked.
      const pending =
        error instanceof PavedError &&
        error.code === 'CONFLICT' &&
        (error.details as { rotation?: unknown } | undefined)?.rotation === 'pending';
      if (!pending) {
        await audit('resource.rotate-credentials', 'failed');
        throw driverFailed('rotating the credentials', error, 'the current credentials are unchanged');
      }
      resumed = true;
      messages.push(
        `the last rotation of ${uid} was not finished (its redeploy did not succeed): finishing it with the credentials it made, no new login`,
      );
    }
    await audit('resource.rotate-credentials', 'succeeded', resumed ? { resumed } : {});

    const deployment = await store.deployments.create({
      app,
      env,
      setId: current.setId,
      actor,
      workloads: current.workloads,
      // The same values as the deployment it redeploys: a rotation ships no pending value change.
      ...(current.valuesVersions === undefined ? {} : { valuesVersions: current.valuesVersions }),
      message: `rotate credentials of ${uid}`,
      steps: DEPLOYMENT_STEPS.map((name): DeploymentStep => ({ name, status: 'pending' })),
    });
    await this.appendEvent(deployment, {
      level: 'info',
      type: 'deployment.queued',
      message: `deployment ${deployment.number} queued by ${actor} to redeploy the workloads with the new credentials of ${uid}`,
    });
    this.#kick(app, env);
    messages.push(
      `deployment ${deployment.number} redeploys the workloads of ${app}/${env} with the new credentials`,
    );
    const finished = await this.#finished(deployment);
    if (finished.status !== 'succeeded') {
      messages.push(
        `deployment ${deployment.number} ${finished.status}${finished.error === undefined ? '' : `: ${finished.error}`}; ` +
          `the previous credentials were NOT revoked: the workloads still run with them, and the new ones (stored on the resource) work too; ` +
          `see why (paved deployments get ${app} ${env} ${deployment.number}), fix it, then run paved resources rotate-credentials ${app} ${env} '${uid}' again: ` +
          'it redeploys with the same new credentials and only then revokes the previous ones',
      );
      return { uid, deployment: deployment.number, revoked: false, messages };
    }

    // The deployment re-provisioned the resource; revoke with what it stored last.
    const latest = (await store.resources.get(app, env, uid)) ?? resource;
    try {
      const revoked = await driver.revokePreviousCredentials(request(latest), new AbortController().signal);
      await persist(latest, revoked);
    } catch (error) {
      await audit('resource.revoke-credentials', 'failed', { deployment: deployment.number });
      throw driverFailed(
        'revoking the previous credentials',
        error,
        `deployment ${deployment.number} succeeded and the workloads use the new credentials, but the previous ones still work`,
      );
    }
    await audit('resource.revoke-credentials', 'succeeded', { deployment: deployment.number });
    messages.push(`the previous credentials of ${uid} are revoked`);
    this.#logger.info(
      { app, env, uid, deployment: deployment.number },
      'rotated the credentials of a resource',
    );
    return { uid, deployment: deployment.number, revoked: true, messages };
  }

  /** Waits until a deployment has finished, whichever server replica runs it. */
  async #finished(deployment: Deployment): Promise<Deployment> {
    const { store } = this.#options;
    const pollMs = Math.min(this.#options.pollMs ?? POLL_MS, 250);
    for (;;) {
      const now = await store.deployments.get(deployment.app, deployment.env, deployment.number);
      if (now === undefined) {
        throw new PavedError(
          'NOT_FOUND',
          `deployment ${deployment.number} of ${deployment.app}/${deployment.env} is gone (was the environment deleted?)`,
        );
      }
      if (now.status !== 'queued' && now.status !== 'running') return now;
      if (this.#stopped) {
        throw new PavedError(
          'UNAVAILABLE',
          `the server stopped while deployment ${deployment.number} of ${deployment.app}/${deployment.env} ran; the previous credentials were not revoked`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  /** Stores an event and hands it to live followers. Never pass secrets. */
  async appendEvent(
    deployment: Pick<Deployment, 'app' | 'env' | 'number'>,
    event: Pick<DeploymentEvent, 'level' | 'type' | 'message'> & { workload?: string },
  ): Promise<DeploymentEvent> {
    const stored = await this.#options.store.deployments.appendEvent({
      app: deployment.app,
      env: deployment.env,
      deployment: deployment.number,
      level: event.level,
      type: event.type,
      message: event.message,
      ...(event.workload === undefined ? {} : { workload: event.workload }),
    });
    this.events.publish(deployment.app, deployment.env, deployment.number, { kind: 'event', event: stored });
    return stored;
  }

  async #poll(): Promise<void> {
    if (this.#stopped) return;
    try {
      const queued = await this.#options.store.deployments.listByStatus(['queued']);
      for (const deployment of queued) this.#kick(deployment.app, deployment.env);
    } catch (error) {
      this.#logger.warn({ err: error }, 'looking for queued deployments failed; trying again');
    }
  }

  #kick(app: string, env: string): void {
    if (this.#stopped) return;
    const key = `${app}\n${env}`;
    if (this.#draining.has(key)) {
      // Work arriving while the environment drains is picked up by its loop or the next poll.
      return;
    }
    const drain = (async () => {
      try {
        for (;;) {
          if (this.#stopped) return;
          const deployment = await this.#options.store.deployments.claimNext(app, env);
          if (deployment === undefined) return;
          await this.#run(deployment);
        }
      } catch (error) {
        this.#logger.error({ err: error, app, env }, 'the deployment worker failed');
      } finally {
        this.#draining.delete(key);
      }
    })();
    this.#draining.set(key, drain);
  }

  async #run(deployment: Deployment): Promise<void> {
    const controller = new AbortController();
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const key = runKey(deployment.app, deployment.env, deployment.number);
    this.#running.set(key, { controller, done });
    try {
      const environment = await this.#options.store.environments.get(deployment.app, deployment.env);
      let context: RunContext | PavedError;
      if (environment === undefined) {
        context = new PavedError(
          'NOT_FOUND',
          `environment ${deployment.app}/${deployment.env} no longer exists; nothing was deployed`,
        );
      } else {
        try {
          context = this.#runContext(environment, await this.runtimeOf(environment));
        } catch (error) {
          context =
            error instanceof PavedError ? error : new PavedError('INTERNAL', String(error), { cause: error });
        }
      }
      const finished = await runDeployment(context, deployment, controller.signal, this);
      this.events.publish(deployment.app, deployment.env, deployment.number, {
        kind: 'end',
        deployment: finished,
      });
      if (finished.status === 'succeeded') await this.#options.gateway.routesChanged?.();
    } catch (error) {
      this.#logger.error({ err: error, deployment: deployment.number }, 'recording a deployment failed');
    } finally {
      this.#running.delete(key);
      finish();
    }
  }

  /** Puts the environment of an interrupted deployment back on its current deployment. */
  async #recover(deployment: Deployment): Promise<void> {
    const environment = await this.#options.store.environments.get(deployment.app, deployment.env);
    if (environment === undefined) return;
    let runtime: Runtime;
    try {
      runtime = await this.runtimeOf(environment);
    } catch (error) {
      this.#logger.error(
        { err: error, app: deployment.app, env: deployment.env },
        'cannot recover an interrupted deployment: its target is unavailable; deploy again once it is',
      );
      return;
    }
    const dumpDir = this.#options.dumpDir?.(deployment.app, deployment.env);
    await recoverInterruptedDeployment(this.#runContext(environment, runtime), deployment, {
      ...(dumpDir === undefined ? {} : { dumpDir }),
      report: async (event) => void (await this.appendEvent(deployment, event)),
    });
  }

  #runContext(environment: Environment, runtime: Runtime): RunContext {
    const { store, secrets, clock, drivers, definitions, contexts, portRange } = this.#options;
    return {
      environment,
      runtime,
      store,
      secrets,
      clock,
      drivers,
      definitions,
      contexts,
      portRange: portRange ?? { from: 20000, to: 29999 },
      isPortFree,
      logger: this.#logger,
      ...(this.#options.audit === undefined ? {} : { audit: this.#options.audit }),
    };
  }
}

/** Runtime events, queued in order onto the store (the sink a runtime gets is synchronous). */
export function eventSink(
  engine: DeploymentEngine,
  deployment: Pick<Deployment, 'app' | 'env' | 'number'>,
): { sink: (event: RuntimeEvent) => void; flush: () => Promise<void> } {
  let chain = Promise.resolve();
  return {
    sink: (event) => {
      chain = chain
        .then(() =>
          engine.appendEvent(deployment, {
            level: event.level,
            type: event.type,
            message: event.container === undefined ? event.message : `[${event.container}] ${event.message}`,
            ...(event.workload === undefined ? {} : { workload: event.workload }),
          }),
        )
        .then(() => undefined)
        .catch(() => undefined);
    },
    flush: () => chain,
  };
}

function runKey(app: string, env: string, number: number): string {
  return `${app}\n${env}\n${number}`;
}

function notFound(app: string, env: string, number: number): PavedError {
  return new PavedError(
    'NOT_FOUND',
    `deployment ${number} of ${app}/${env} does not exist; paved deployments list ${app} ${env} shows them`,
    { details: { app, env, deployment: number } },
  );
}

/** Whether nothing listens on 127.0.0.1:port now. */
function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createNetServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
