import type { Container, ResourceRequest, ScoreWorkload, ServicePort } from '../../score/types.js';

/** A validated workload for tests: one container `main` unless given, no ports unless given. */
export function scoreWorkload(
  name: string,
  parts: {
    resources?: Record<string, ResourceRequest>;
    variables?: Record<string, string>;
    containers?: Record<string, Container>;
    ports?: Record<string, ServicePort>;
    metadata?: Record<string, unknown>;
  } = {},
): ScoreWorkload {
  return {
    apiVersion: 'score.dev/v1b1',
    metadata: { ...parts.metadata, name },
    containers: parts.containers ?? { main: { image: 'nginx', variables: parts.variables ?? {} } },
    ...(parts.resources === undefined ? {} : { resources: parts.resources }),
    ...(parts.ports === undefined ? {} : { service: { ports: parts.ports } }),
  };
}
