/**
 * What the deployment engine tells the audit log: every step that changes infrastructure (a
 * resource provisioned or deprovisioned, a workload started, replaced or removed, an environment
 * torn down), with the deployment's actor, so "who changed production, and how" is answered by the
 * audit log alone and not only by API requests.
 */
import type { AuditEntryInput, AuditOutcome } from '@paved/store';

/** The part of the audit log the engine needs (`AuditLog.recordOrLog`: a failed append is logged). */
export interface InfrastructureAuditSink {
  recordOrLog(entry: AuditEntryInput): Promise<unknown>;
}

export type InfrastructureAction =
  | 'deployment.provision'
  | 'deployment.deprovision'
  | 'deployment.apply'
  | 'environment.destroy'
  | 'resource.rotate-credentials'
  | 'resource.revoke-credentials';

export interface InfrastructureChange {
  action: InfrastructureAction;
  app: string;
  env: string;
  /** A resource uid or a workload name, within the environment. */
  subject?: string;
  outcome: AuditOutcome;
  /** The deployment's actor; absent for what Paved does on its own. */
  actor?: string;
  /** Never secrets: deployment number, driver, action taken. */
  details?: Record<string, unknown>;
}

/** Records one infrastructure change; never throws (the change has happened either way). */
export async function auditInfrastructure(
  sink: InfrastructureAuditSink | undefined,
  change: InfrastructureChange,
): Promise<void> {
  if (sink === undefined) return;
  await sink.recordOrLog({
    ...(change.actor === undefined
      ? { actorKind: 'system' as const }
      : { actorKind: 'user' as const, actorName: change.actor }),
    action: change.action,
    object: [change.app, change.env, ...(change.subject === undefined ? [] : [change.subject])].join('/'),
    app: change.app,
    env: change.env,
    outcome: change.outcome,
    ...(change.details === undefined ? {} : { details: change.details }),
  });
}
