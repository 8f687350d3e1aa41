/**
 * What a server does on start for each deployment a stopped (or killed) server left `running`:
 * it puts the environment back exactly on its current deployment, so an interrupted deployment
 * ends "failed cleanly" whatever stage it was cut off at.
 *
 * - Resources whose provisioning was cut off (`provisioning` records, see `provision-intents.ts`)
 *   are deprovisioned and their records removed. Nothing else is touched: resources the interrupted
 *   deployment finished provisioning are recorded (`ready`) and are reused by the next deployment
 *   or let go by its record step, like any other.
 * - Workloads: the runtime is planned against the current deployment's specs; whatever differs
 *   (an instance of the interrupted deployment that took over, a workload it added) is applied back
 *   through the runtime's usual zero-downtime replace, and workloads the current deployment does
 *   not run are removed. Runtimes stop instances an interrupted apply left unswitched in `init()`.
 * - Host ports allocated for workloads the current deployment does not run are released.
 */
import type { RuntimeEvent } from '@paved/core';
import type { Deployment } from '@paved/store';
import { deprovisionResource } from './deprovision-resource.js';
import { decodeRendered } from './rendered-specs.js';
import type { RunContext } from './run-deployment.js';

export interface RecoveryOptions {
  /** Where drivers dump data before they delete it. */
  dumpDir?: string;
  /** Events for the interrupted deployment's record. Never secrets. */
  report: (event: Pick<RuntimeEvent, 'level' | 'type' | 'message' | 'workload'>) => Promise<void>;
}

/** Never throws: what cannot be recovered is reported, logged and retried at the next start. */
export async function recoverInterruptedDeployment(
  context: RunContext,
  interrupted: Deployment,
  options: RecoveryOptions,
): Promise<void> {
  const { environment, store, secrets, runtime, logger } = context;
  const { app, name: env } = environment;
  const report = async (event: Parameters<RecoveryOptions['report']>[0]): Promise<void> => {
    await options.report(event).catch(() => undefined);
    logger[event.level === 'error' ? 'error' : 'info'](
      { app, env, deployment: interrupted.number, workload: event.workload },
      `recovery: ${event.message}`,
    );
  };

  for (const resource of await store.resources.list(app, env)) {
    if (resource.status !== 'provisioning') continue;
    try {
      await deprovisionResource(context, resource, {
        actor: interrupted.actor,
        deployment: interrupted.number,
        ...(options.dumpDir === undefined ? {} : { dumpDir: options.dumpDir }),
      });
      await report({
        level: 'info',
        type: 'recovery.deprovisioned',
        message: `resource "${resource.uid}" was being provisioned when the server stopped; it is deprovisioned`,
      });
    } catch (error) {
      await report({
        level: 'error',
        type: 'recovery.failed',
        message: `resource "${resource.uid}" was being provisioned when the server stopped and could not be deprovisioned (${messageOf(error)}); the server tries again at its next start`,
      });
    }
  }

  const current = await store.deployments.current(app, env);
  try {
    const desired =
      current?.sealedRuntimeSpec === undefined ? [] : decodeRendered(secrets.open(current.sealedRuntimeSpec));
    const envRef = { app, env };
    const plan = await runtime.plan(envRef, desired);
    const items = plan.items.filter((item) => item.action !== 'unchanged');
    if (items.length > 0) {
      const result = await runtime.apply(
        { env: envRef, items },
        (event) => void report(event),
        new AbortController().signal,
      );
      for (const outcome of result.workloads) {
        await report({
          level: outcome.ok ? 'info' : 'error',
          type: outcome.ok ? 'workload.restored' : 'workload.restore-failed',
          workload: outcome.workload,
          message: outcome.ok
            ? `workload "${outcome.workload}" is back as ${current === undefined ? 'before the first deployment (removed)' : `deployment ${current.number} runs it`}`
            : `workload "${outcome.workload}" could not be restored: ${outcome.error ?? 'unknown error'}`,
        });
      }
    }
    const running = new Set(desired.map((workload) => workload.name));
    const released = new Set<string>();
    for (const allocation of await store.ports.list(app, env)) {
      if (running.has(allocation.workload) || released.has(allocation.workload)) continue;
      released.add(allocation.workload);
      await store.ports.release(app, env, allocation.workload);
    }
    await report({
      level: 'info',
      type: 'recovery.finished',
      message: `the environment is back on ${current === undefined ? 'what it ran before (nothing)' : `deployment ${current.number}`}`,
    });
  } catch (error) {
    await report({
      level: 'error',
      type: 'recovery.failed',
      message: `putting the workloads back on ${current === undefined ? 'what ran before' : `deployment ${current.number}`} failed (${messageOf(error)}); deploy again`,
    });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
