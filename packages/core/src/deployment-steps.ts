/**
 * The stages every deployment goes through, in order (docs/architecture.md). Each is recorded as a
 * step of the deployment; the store seeds them, the server runs them, the CLI shows them.
 */
export const DEPLOYMENT_STEPS = [
  'validate',
  'request',
  'match',
  'graph',
  'provision',
  'render',
  'plan',
  'apply',
  'record',
] as const;

export type DeploymentStepName = (typeof DEPLOYMENT_STEPS)[number];
