/**
 * Events a runtime sees outside a deployment run — a container restarted after a crash or after
 * failing its liveness probe three times, a workload found stopped and started again — are
 * logged and appended to the events of the deployment whose instance they concern, so
 * `GET …/deployments/{n}/events` shows what happened to a release after it went live, next to how
 * it was deployed.
 */
import type { EventSink, RuntimeEvent } from '@paved/core';
import type { Logger } from 'pino';
import type { DeploymentEngine } from './deployment-engine.js';

export interface RuntimeEventRecorderOptions {
  logger: Logger;
  /** The engine, once the server has made it (the runtimes start before it). */
  engine: () => DeploymentEngine | undefined;
  /** The target's name, for the log. */
  target: string;
}

/** An `onEvent` for a runtime: logs every event, records those that name their deployment. */
export function runtimeEventRecorder(options: RuntimeEventRecorderOptions): EventSink {
  const { logger, target } = options;
  return (event: RuntimeEvent) => {
    logger.info({ target, workload: event.workload, type: event.type }, event.message);
    const engine = options.engine();
    const source = event.source;
    if (engine === undefined || source === undefined) return;
    engine
      .appendEvent(
        { app: source.app, env: source.env, number: source.deployment },
        {
          level: event.level,
          type: event.type,
          message: event.message,
          ...(event.workload === undefined ? {} : { workload: event.workload }),
        },
      )
      .catch((error: unknown) => {
        // The environment may be gone (deleted while the event was on its way): the log has it.
        logger.warn(
          { target, type: event.type, error: error instanceof Error ? error.message : String(error) },
          'could not record a runtime event',
        );
      });
  };
}
